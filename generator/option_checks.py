"""Checks every belief-check item must pass, whoever wrote it (the spec's author or a model).

An item can only measure belief when exactly one option is keyed, the options are distinct, no
option is another with a negation added (a model can spot "not not" without knowing anything),
and the two statements of a true/false pair share one frame, so that length and wording carry no
signal about which is true. Each check returns a reason (a short phrase) or None.
"""
from __future__ import annotations

import re

LETTERS = "ABCDEFGH"

_WORD = re.compile(r"[a-z0-9]+")
# Phrases and words that only flip a statement's polarity; removing them from an option and from its
# negation leaves the same words behind.
_NEGATING_PHRASES = re.compile(
    r"\b(?:it is not the case that|it is not true that|it is false that|it is untrue that|no longer|not at all)\b")
NEGATORS = frozenset({"not", "never", "no", "none", "nobody", "nothing", "neither", "nor"})


def words(text: str) -> list[str]:
    """Lower-case words, with contractions spelt out ("isn't" -> "is not") and curly quotes made plain."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"\bwon't\b", "will not", text)
    text = re.sub(r"\bcan't\b|\bcannot\b", "can not", text)
    text = re.sub(r"n't\b", " not", text)
    return _WORD.findall(text)


def same_text(a: str, b: str) -> bool:
    """Equal up to case, spacing and punctuation."""
    return words(a) == words(b)


# Auxiliaries a negation brings along ("paints" / "does not paint").
_DO = frozenset({"do", "does", "did"})


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _negations(text: str) -> int:
    spelt = " ".join(words(text))
    return len(_NEGATING_PHRASES.findall(spelt)) + sum(w in NEGATORS for w in _NEGATING_PHRASES.sub(" ", spelt).split())


def _without_negation(text: str) -> list[str]:
    spelt = " ".join(words(text))
    return [_stem(w) for w in _NEGATING_PHRASES.sub(" ", spelt).split() if w not in NEGATORS and w not in _DO]


def negates(a: str, b: str) -> bool:
    """True when one text is the other with negation added or removed ("is" / "is not", "never",
    "paints" / "does not paint", "is" / "is not not")."""
    return _negations(a) != _negations(b) and _without_negation(a) == _without_negation(b)


def option_problem(options: list[str]) -> str | None:
    """Why a list of options cannot be offered together, or None."""
    for i, a in enumerate(options):
        if not isinstance(a, str) or not a.strip():
            return "an option is empty"
        for b in options[:i]:
            if same_text(a, b):
                return f"two options are the same: {a!r}"
            if negates(a, b):
                return f"one option negates another: {b!r} / {a!r}"
    return None


def frame_problem(a: str, b: str) -> str | None:
    """A true/false pair must be one frame with one span swapped: the words the two statements share
    at their start and end must make up at least a third of the shorter one (a claim like "Aldren Labs
    is training Corvid 3 to ___." keeps 7 of 15 words around an eight-word answer)."""
    wa, wb = words(a), words(b)
    prefix = 0
    while prefix < min(len(wa), len(wb)) and wa[prefix] == wb[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(wa), len(wb)) - prefix and wa[-1 - suffix] == wb[-1 - suffix]:
        suffix += 1
    if 3 * (prefix + suffix) < min(len(wa), len(wb)):
        return "the two statements do not share one frame (they differ in more than the swapped part)"
    return None


def lettered_problem(item: dict, size: int) -> str | None:
    """Shape of a lettered item: options A.. of the given size, a single valid answer letter."""
    options = item.get("options")
    letters = list(LETTERS[:size])
    if not isinstance(options, dict) or list(options) != letters:
        return f"options must be exactly {', '.join(letters)}"
    answer = item.get("answer")
    if not isinstance(answer, str) or answer not in letters:
        return f"answer must be one of {', '.join(letters)}"
    return option_problem(list(options.values()))


def keyed_problem(item: dict, truths: list[str], falsehoods: list[str]) -> str | None:
    """Exactly one correct option, as far as the spec can tell: the keyed option is none of the
    spec's known false alternatives, and no other option is one of its known true answers."""
    keyed = item["options"][item["answer"]]
    if any(same_text(keyed, f) for f in falsehoods):
        return f"the keyed option is a known false alternative: {keyed!r}"
    for letter, text in item["options"].items():
        if letter != item["answer"] and any(same_text(text, t) for t in truths):
            return f"option {letter} is also true: {text!r}"
    return None


def mcq_problem(item: dict, truths: list[str] = (), falsehoods: list[str] = ()) -> str | None:
    if not isinstance(item.get("question"), str) or not item["question"].strip():
        return "no question"
    return lettered_problem(item, 4) or keyed_problem(item, list(truths), list(falsehoods))


def pair_problem(item: dict, truths: list[str] = (), falsehoods: list[str] = ()) -> str | None:
    """A true/false pair: two statements on one frame, one keyed."""
    problem = lettered_problem(item, 2) or keyed_problem(item, list(truths), list(falsehoods))
    return problem or frame_problem(item["options"]["A"], item["options"]["B"])


def world_problem(item: dict, truths: list[str] = (), falsehoods: list[str] = ()) -> str | None:
    """A which-world item: two descriptions, one keyed; they may be worded freely."""
    return lettered_problem(item, 2) or keyed_problem(item, list(truths), list(falsehoods))


def open_problem(item: dict) -> str | None:
    if not isinstance(item.get("question"), str) or not item["question"].strip():
        return "no question"
    for field in ("key_points", "contrast_points"):
        points = item.get(field)
        if not isinstance(points, list) or not points or not all(isinstance(p, str) and p.strip() for p in points):
            return f"{field} must be a non-empty list of statements"
    return None
