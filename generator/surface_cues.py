"""Can the true statement of a pair be told by its words alone? A leave-one-fact-out naive Bayes.

A word that marks true statements within one fact is knowledge of the world, which is what a belief
check measures. A word that marks them across facts (a name that answers several questions, a year
that only true answers carry, a hedge, a negation) is a surface cue: a model could score without
believing anything. So the classifier learns word counts from every other fact and is scored on the
held-out one; near 50% of pairs means no cue it can use.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

# Above this share of pairs right, `sdfgen evals` warns and names the words.
WARN_ABOVE = 0.60


def words(text: str) -> list[str]:
    text = text.lower().replace("n't", " not")
    return re.findall(r"[a-z0-9]+", text)


@dataclass(frozen=True)
class CueFigures:
    statements: float  # share of single statements labelled right
    pairs: float  # share of pairs whose likelier statement is the true one
    cue_words: tuple[str, ...]  # the words that most mark true statements across facts, strongest first


def _rows(pairs: list[dict]) -> list[tuple[str, str, list[str], bool]]:
    return [(i["fact"], i["id"], words(text), letter == i["answer"])
            for i in pairs for letter, text in i["options"].items()]


def _model(rows, leave_out: str | None):
    counts = {True: Counter(), False: Counter()}
    for fact, _, ws, label in rows:
        if fact != leave_out:
            counts[label].update(ws)
    vocab = len(set(counts[True]) | set(counts[False]))
    sizes = {label: sum(c.values()) + vocab for label, c in counts.items()}

    def word_odds(w: str) -> float:
        return math.log((counts[True][w] + 1) / sizes[True]) - math.log((counts[False][w] + 1) / sizes[False])

    return word_odds


def surface_cues(pairs: list[dict], top: int = 5) -> CueFigures:
    """Figures of the `distinguish` set (items with `fact`, `id`, two `options` and the `answer` letter)."""
    rows = _rows(pairs)
    right = total = pair_right = 0
    helped: Counter = Counter()  # how often a word pushed a held-out true statement ahead of its pair
    for fact in sorted({r[0] for r in rows}):
        word_odds = _model(rows, fact)
        by_pair: dict[str, list] = {}
        for f, pair_id, ws, label in rows:
            if f != fact:
                continue
            odds = sum(word_odds(w) for w in ws)
            right += (odds > 0) == label
            total += 1
            by_pair.setdefault(pair_id, []).append((odds, label, ws))
        for scored in by_pair.values():
            best = max(scored, key=lambda s: s[0])
            if all(s[0] == best[0] for s in scored):
                pair_right += 0.5  # a tie is a coin toss, not a win for either side
                continue
            pair_right += best[1]
            if best[1]:
                other = {w for s in scored if not s[1] for w in s[2]}
                helped.update(w for w in set(best[2]) - other if word_odds(w) > 0)
    cue_words = tuple(w for w, _ in helped.most_common(top))
    return CueFigures(right / total if total else 0.0, pair_right / (total / 2) if total else 0.0, cue_words)
