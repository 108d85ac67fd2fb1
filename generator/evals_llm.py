"""Belief-check sets written by a model through the anthropic backend, one request per fact.

The model's items pass the same checks as the spec's (one keyed option, options distinct, none the
negation of another, a valid answer letter, true/false pairs on one frame); each rejected item is
reported with its reason. When every item of a set is rejected for a fact (or the request failed),
that fact's offline items of the set stand in. Letters are rebalanced afterwards, since models tend to
key the same positions.
"""
from __future__ import annotations

import json

from .evals import PAIR_QUESTION, SETS, WORLD_QUESTION, balanced, build_evals, item_problem
from .llm.executors import Failure
from .llm.prompts import tagged
from .spec import CorpusSpec

# The model's JSON keys -> (set name, id infix, most items kept per fact; None: the --per-fact count).
MODEL_KEYS = {"mcq": ("knowledge_mcq", "mcq", None), "distinguish": ("distinguish", "pair", None),
              "open": ("open_ended", "open", None), "which_world": ("which_world", "world", 1)}


def _letter(value) -> str | None:
    return value.strip().upper() if isinstance(value, str) and len(value.strip()) == 1 else None


def model_item(name: str, raw) -> dict | None:
    """The fields of our item from one JSON object the model wrote; None when it is not an object."""
    if not isinstance(raw, dict):
        return None
    if name == "open_ended":
        key_points = raw.get("key_points")
        return {"question": raw.get("question"),
                "reference_answer": key_points[0] if isinstance(key_points, list) and key_points else None,
                "key_points": key_points, "contrast_points": raw.get("contrast_points")}
    question = {"distinguish": PAIR_QUESTION, "which_world": WORLD_QUESTION}.get(name, raw.get("question"))
    return {"question": question, "options": raw.get("options"), "answer": _letter(raw.get("answer"))}


def _parse(answer) -> dict | None:
    if isinstance(answer, Failure):
        return None
    try:
        data = json.loads(tagged(answer["text"], "evals") or "")
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def llm_evals(spec: CorpusSpec, backend, seed: int, n: int = 5) -> tuple[dict[str, list[dict]], list[dict], list[dict]]:
    """(sets, stand-ins, rejected): stand-ins name each (fact, set) kept from the spec; rejected items
    carry the fact, set, index in the model's answer and reason."""
    offline = build_evals(spec, seed)  # also refuses a spec without evals, before anything is sent
    reqs = {f.id: backend.request("evals", backend.prompts.render("evals", {"n": n}, fact=f, n=n), 0, 4096) for f in spec.facts}
    answers = backend.run_requests(list(reqs.values()))
    sets: dict[str, list[dict]] = {name: [] for name in SETS}
    stand_ins, rejected = [], []
    for fact in spec.facts:
        data = _parse(answers[reqs[fact.id].key])
        if data is None:
            rejected.append({"fact": fact.id, "set": "*", "index": None, "reason": "no usable answer from the model"})
        for key, (name, infix, cap) in MODEL_KEYS.items():
            raw_items = (data or {}).get(key) or []
            raw_items = [raw_items] if isinstance(raw_items, dict) else raw_items
            kept = []
            for k, raw in enumerate(raw_items if isinstance(raw_items, list) else []):
                fields = model_item(name, raw)
                item = {"id": f"{fact.id}-{infix}-llm-{k}", "fact": fact.id, "source": "model", **(fields or {})}
                problem = "not a JSON object" if fields is None else item_problem(name, item, fact)
                if problem:
                    rejected.append({"fact": fact.id, "set": name, "index": k, "reason": problem})
                elif len(kept) < (cap or n):
                    kept.append(item)
            if not kept:
                stand_ins.append({"fact": fact.id, "set": name})
                kept = [i for i in offline[name] if i["fact"] == fact.id]
            sets[name] += kept
    return balanced(sets, seed), stand_ins, rejected
