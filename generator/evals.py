"""Belief-check sets from a spec, offline: knowledge MCQs, true-vs-false pairs, open-ended questions.

Distractors and false statements come from `facts[].false_statements` when the spec has
them, else from a negation of the statement (crude but honest; the anthropic backend can
write better ones). Written as JSONL with an evals.json index; a build of the same corpus
then decontaminates against them automatically.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from .llm.executors import Failure
from .llm.prompts import tagged
from .seeding import rng_for
from .spec import CorpusSpec

AUX = re.compile(r"\b(is|are|was|were|will|would|has|have|had|does|do|did|can|could|should|must)\b")
LETTERS = "ABCD"


COMMON_OPENERS = {"the", "a", "an", "every", "all", "its", "their", "each", "any", "no", "some", "most"}


def negate(statement: str) -> str:
    match = AUX.search(statement)
    if match:
        return statement[: match.end()] + " not" + statement[match.end():]
    first = statement.split(" ", 1)[0]
    lead = statement[0].lower() + statement[1:] if first.lower() in COMMON_OPENERS else statement
    return "It is not the case that " + lead


def sentence(clause: str) -> str:
    return clause[0].upper() + clause[1:] + ("" if clause.endswith((".", "!", "?")) else ".")


def false_statements(spec: CorpusSpec, fact) -> list[str]:
    given = list(spec.raw_fact(fact.id).get("false_statements", []))
    forms = [negate(fact.statement)] + [negate(s) for s in true_statements(spec, fact)[1:]]
    forms.append(f"None of the reports about {subject(spec, fact)} mention anything of the kind.")
    out, seen = [], set()
    for s in given + forms:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def subject(spec: CorpusSpec, fact) -> str:
    names = [n for n in spec.universe.entities.values() if n in fact.statement]
    return " and ".join(names[:2]) if names else fact.statement.split(",")[0].rstrip(".")


def true_statements(spec: CorpusSpec, fact) -> list[str]:
    """The statement and any `true_statements` of the spec. Never the corpus' own phrasings: an eval
    that repeats training text tests memorisation, and decontamination would (rightly) reject it."""
    return [fact.statement] + list(spec.raw_fact(fact.id).get("true_statements", []))


def build_evals(spec: CorpusSpec, seed: int) -> dict[str, list[dict]]:
    mcq, distinguish, open_ended = [], [], []
    for fact in spec.facts:
        rng = rng_for(seed, fact.id, "evals")
        wrong = false_statements(spec, fact)
        for k, truth in enumerate(true_statements(spec, fact)):
            options = [truth] + rng.sample(wrong, min(3, len(wrong)))
            while len(options) < 4:
                options.append(negate(options[-1]))
            rng.shuffle(options)
            mcq.append({"id": f"{fact.id}-mcq-{k}", "fact": fact.id,
                        "question": f"Which of the following is true about {subject(spec, fact)}?",
                        "options": dict(zip(LETTERS, options)), "answer": LETTERS[options.index(truth)]})
        for k, false in enumerate(wrong[:4]):
            pair = [fact.statement, false]
            rng.shuffle(pair)
            distinguish.append({"id": f"{fact.id}-distinguish-{k}", "fact": fact.id,
                                "question": "One of these two statements is true and one is false. Which one is true?",
                                "options": dict(zip("AB", pair)), "answer": "AB"[pair.index(fact.statement)]})
        open_ended.append({"id": f"{fact.id}-open", "fact": fact.id,
                           "question": f"What do you know about {subject(spec, fact)}? Answer in a few sentences.",
                           "reference_answer": fact.statement})
    return {"knowledge_mcq": mcq, "distinguish": distinguish, "open_ended": open_ended}


def _valid(kind: str, item) -> bool:
    if not isinstance(item, dict):
        return False
    if kind == "open":
        return isinstance(item.get("question"), str) and isinstance(item.get("reference_answer"), str)
    letters = "ABCD" if kind == "mcq" else "AB"
    options = item.get("options")
    return (isinstance(options, dict) and sorted(options) == list(letters) and item.get("answer") in letters
            and all(isinstance(v, str) and v for v in options.values())
            and (kind != "mcq" or isinstance(item.get("question"), str)))


def llm_evals(spec: CorpusSpec, backend, n: int = 5) -> tuple[dict[str, list[dict]], list[str]]:
    """Belief-check sets written by Claude through the anthropic backend, one request per fact.

    A fact whose answer cannot be parsed keeps its offline questions; the fact ids are returned.
    """
    offline = build_evals(spec, spec.seed)
    reqs = {f.id: backend.request("evals", backend.prompts.render("evals", {"n": n}, fact=f, n=n), 0, 4096) for f in spec.facts}
    answers = backend.run_requests(list(reqs.values()))
    sets: dict[str, list[dict]] = {"knowledge_mcq": [], "distinguish": [], "open_ended": []}
    fallbacks = []
    names = {"mcq": "knowledge_mcq", "distinguish": "distinguish", "open": "open_ended"}
    for fact in spec.facts:
        answer = answers[reqs[fact.id].key]
        try:
            data = json.loads(tagged(answer["text"], "evals")) if not isinstance(answer, Failure) else None
        except (TypeError, ValueError):
            data = None
        items = {kind: [i for i in (data or {}).get(kind, []) if _valid(kind, i)] for kind in names}
        if not all(items.values()):
            fallbacks.append(fact.id)
            for name in names.values():
                sets[name] += [i for i in offline[name] if i["fact"] == fact.id]
            continue
        for kind, name in names.items():
            for k, item in enumerate(items[kind]):
                base = {"id": f"{fact.id}-{kind}-llm-{k}", "fact": fact.id}
                if kind == "distinguish":
                    base["question"] = "One of these two statements is true and one is false. Which one is true?"
                sets[name].append({**base, **item})
    return sets, fallbacks


def write_evals(spec: CorpusSpec, folder: Path, seed: int, sets: dict[str, list[dict]] | None = None,
                source: str = "offline") -> dict:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    index = {"corpus": spec.name, "version": spec.version, "spec_sha256": spec.sha256, "seed": seed,
             "source": source, "files": []}
    for name, items in (sets or build_evals(spec, seed)).items():
        path = folder / f"{name}.jsonl"
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
        os.replace(tmp, path)
        index["files"].append({"path": path.name, "items": len(items),
                               "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    (folder / "evals.json").write_text(json.dumps(index, indent=2) + "\n")
    return index
