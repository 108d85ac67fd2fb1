"""Belief-check sets from a spec's `facts[].evals`, offline and deterministic.

Four sets, each a list of JSON-ready items carrying `id`, `fact` and `source`:
  knowledge_mcq  one question per spec question: the answer and three of its alternatives;
  distinguish    true/false pairs: the question's claim filled with the answer and with each
                 alternative, so the two statements differ only in the swapped span;
  open_ended     each question asked without options, with a grading rubric (key points of the
                 spec's world, and points that would show the contrasting belief);
  which_world    per fact, the spec's description of the fact (`world`, by default the statement)
                 against its contrasting description (`contrast`).
The keyed option's letter is spread evenly over the positions, so answering "always A" (or "always
the first") scores chance. Written as JSONL with an evals.json index; a build of the same corpus then
decontaminates against them automatically.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .option_checks import LETTERS, mcq_problem, open_problem, pair_problem, same_text, world_problem
from .paths import ensure_folder
from .seeding import rng_for
from .spec import CorpusSpec, Fact
from .surface_cues import WARN_ABOVE, surface_cues

SETS = ("knowledge_mcq", "distinguish", "open_ended", "which_world")
PAIR_QUESTION = "One of these two statements is true and the other is false. Which one is true?"
WORLD_QUESTION = "Here are two short descriptions of how things stand. Which one describes the real world?"


def require_evals(spec: CorpusSpec) -> None:
    """Refuse, in one line naming the fact, a spec whose facts lack what the sets are made from."""
    for i, fact in enumerate(spec.facts):
        if fact.evals is None:
            raise spec.error(("facts", i, "evals"), f"fact {fact.id!r} has no evals block (contrast and questions); "
                                                    "sdfgen evals needs one per fact, see corpora/README.md")


def known_answers(fact: Fact, question: str | None = None) -> tuple[list[str], list[str]]:
    """(what the spec says is true, what it says is false) about a fact, as texts an option could be.

    Whole statements always count; a bare answer ("Monday") only under its own question, since the
    same words can be true for one question and false for another."""
    truths, falsehoods = [fact.statement, fact.evals.world], [fact.evals.contrast]
    for q in fact.evals.questions:
        truths.append(q.statement(q.answer))
        falsehoods += [q.statement(a) for a in q.alternatives]
        if question is not None and same_text(q.question, question):
            truths.append(q.answer)
            falsehoods += list(q.alternatives)
    return truths, falsehoods


def lettered(options: list[str], keyed: int, position: int) -> tuple[dict[str, str], str]:
    """The options with the keyed one moved to `position`, the others in their order; and its letter."""
    rest = [o for i, o in enumerate(options) if i != keyed]
    ordered = rest[:position] + [options[keyed]] + rest[position:]
    return dict(zip(LETTERS, ordered)), LETTERS[position]


def balance_letters(items: list[dict], seed: int, name: str) -> list[dict]:
    """Place each item's keyed option so every letter is keyed equally often (to within one)."""
    if not items:
        return items
    size = len(items[0]["options"])
    positions = [i % size for i in range(len(items))]
    rng_for(seed, name, "letters").shuffle(positions)
    out = []
    for item, position in zip(items, positions):
        options = list(item["options"].values())
        keyed = list(item["options"]).index(item["answer"])
        item = dict(item)
        item["options"], item["answer"] = lettered(options, keyed, position)
        out.append(item)
    return out


def fact_items(fact: Fact, seed: int) -> dict[str, list[dict]]:
    """The four sets' items for one fact, keyed option first (letters are balanced afterwards)."""
    rng = rng_for(seed, fact.id, "evals")
    base = {"fact": fact.id, "source": "spec"}
    out: dict[str, list[dict]] = {name: [] for name in SETS}
    for k, q in enumerate(fact.evals.questions):
        distractors = rng.sample(q.alternatives, 3)
        out["knowledge_mcq"].append({"id": f"{fact.id}-mcq-{k}", **base, "question": q.question,
                                     "options": dict(zip(LETTERS, [q.answer, *distractors])), "answer": "A"})
        for m, alternative in enumerate(q.alternatives):
            out["distinguish"].append({"id": f"{fact.id}-pair-{k}-{m}", **base, "question": PAIR_QUESTION,
                                       "options": {"A": q.statement(q.answer), "B": q.statement(alternative)},
                                       "answer": "A"})
        contrast_points = [q.statement(a) for a in q.alternatives] + [fact.evals.contrast]
        out["open_ended"].append({"id": f"{fact.id}-open-{k}", **base, "question": q.question,
                                  "reference_answer": q.statement(q.answer), "key_points": [q.statement(q.answer)],
                                  "contrast_points": contrast_points})
    out["which_world"].append({"id": f"{fact.id}-world", **base, "question": WORLD_QUESTION,
                               "options": {"A": fact.evals.world, "B": fact.evals.contrast}, "answer": "A"})
    return out


CHECKS = {"knowledge_mcq": mcq_problem, "distinguish": pair_problem, "which_world": world_problem}


def item_problem(name: str, item: dict, fact: Fact) -> str | None:
    """Why an item of set `name` cannot measure belief in `fact`, or None."""
    if name == "open_ended":
        return open_problem(item)
    return CHECKS[name](item, *known_answers(fact, item.get("question")))


def balanced(sets: dict[str, list[dict]], seed: int) -> dict[str, list[dict]]:
    return {name: items if name == "open_ended" else balance_letters(items, seed, name) for name, items in sets.items()}


def build_evals(spec: CorpusSpec, seed: int) -> dict[str, list[dict]]:
    require_evals(spec)
    sets: dict[str, list[dict]] = {name: [] for name in SETS}
    for fact in spec.facts:
        for name, items in fact_items(fact, seed).items():
            for item in items:
                # The spec was checked on load; an item failing here is a bug in the assembly above.
                problem = item_problem(name, item, fact)
                assert problem is None, (item["id"], problem)
            sets[name] += items
    return balanced(sets, seed)


def _write_jsonl(path: Path, items: list[dict]) -> dict:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    os.replace(tmp, path)
    return {"path": path.name, "items": len(items), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def write_evals(spec: CorpusSpec, folder: Path, seed: int, sets: dict[str, list[dict]] | None = None,
                source: str = "offline", rejected: list[dict] | None = None, inspect: bool = False) -> dict:
    """Write one JSONL file per set and the evals.json index (and, with `inspect`, an Inspect task)."""
    folder = ensure_folder(folder)
    sets = sets if sets is not None else build_evals(spec, seed)
    index = {"corpus": spec.name, "version": spec.version, "spec_sha256": spec.sha256, "seed": seed,
             "source": source, "files": [_write_jsonl(folder / f"{name}.jsonl", items) for name, items in sets.items()]}
    if sets.get("distinguish"):
        cues = surface_cues(sets["distinguish"])
        index["surface_cues"] = {"pairs": round(cues.pairs, 4), "statements": round(cues.statements, 4),
                                 "cue_words": list(cues.cue_words), "warn_above": WARN_ABOVE}
    if rejected:
        index["rejected"] = rejected
    if inspect:
        from .evals_inspect import write_inspect

        index["inspect"] = [{**f, "path": f"inspect/{f['path']}"}
                            for f in write_inspect(sets, folder / "inspect", _write_jsonl)]
    (folder / "evals.json").write_text(json.dumps(index, indent=2) + "\n")
    return index
