"""The deterministic planner: CorpusSpec -> a stream of DocPlans.

Which positions carry facts is fixed per block of BLOCK plans, so the stream needs
O(BLOCK) memory however large the corpus, and fact documents are spread evenly.
"""
from __future__ import annotations

from typing import Iterator

from .documents import DocPlan, FactChoice
from .errors import BuildError
from .seeding import rng_for
from .spec import CorpusSpec
from .variation import count_forms

BLOCK = 1000
# Fact documents are about the universe's topics only part of the time, at most 15% per topic:
# the rest are about everyday subjects, so facts surface in many contexts and no topic pool is
# worn out (a spec with one fact topic would otherwise repeat its sentences across the corpus).
TOPIC_SHARE_PER_FACT_TOPIC = 0.15
MAX_FACT_TOPIC_SHARE = 0.75


def doc_id(index: int) -> str:
    return f"doc-{index:08d}"


def doc_index(document_id: str) -> int:
    return int(document_id.rsplit("-", 1)[1])


def counts(spec: CorpusSpec, total: int | None = None) -> tuple[int, int]:
    """(fact-bearing, background) documents a build keeps: `total` in the spec's ratio, else the
    spec's documents.count and background.ratio times it. Refuses a count that gives no document."""
    if total is not None and total < 1:
        raise BuildError(f"--count {total}: a dataset needs at least one document")
    if total is None:
        n_fact, n_background = spec.documents.count, round(spec.documents.count * spec.background.ratio)
    else:
        n_fact, n_background = spec.split_counts(total)
    if n_fact + n_background < 1:
        raise spec.error(("documents", "count"), f"{spec.documents.count} fact documents and background.ratio "
                         f"{spec.background.ratio:g} give no document; a dataset needs at least one")
    return n_fact, n_background


def _kinds(seed: int, n_fact: int, total: int) -> Iterator[str]:
    for start in range(0, total, BLOCK):
        stop = min(start + BLOCK, total)
        # Fact documents due in this block: an even spread, exact overall.
        due = (stop * n_fact) // total - (start * n_fact) // total if total else 0
        kinds = ["fact"] * due + ["background"] * (stop - start - due)
        rng_for(seed, "layout", start).shuffle(kinds)
        yield from kinds


def plan_documents(spec: CorpusSpec, seed: int, total: int | None = None) -> Iterator[DocPlan]:
    """The first plans of a build: every document it is to keep, before any is rejected."""
    n_fact, n_background = counts(spec, total)
    fact_ids = [f.id for f in spec.facts]
    fact_docs = 0
    for index, kind in enumerate(_kinds(seed, n_fact, n_fact + n_background)):
        primary = None
        if kind == "fact":
            # The first fact rotates so every fact gets its share; the others are drawn.
            primary = fact_ids[fact_docs % len(fact_ids)]
            fact_docs += 1
        yield plan_one(spec, seed, index, kind, primary)


def replacement_plans(spec: CorpusSpec, seed: int, start: int, replaced: list[tuple[str, str | None]]
                      ) -> Iterator[DocPlan]:
    """Plans standing in for rejected ones, with the next ids: each (kind, primary fact) of a rejected
    plan, in id order, gets a new plan of that kind and primary fact, everything else drawn afresh (a
    genre or topic that failed is not repeated on purpose), so the kept corpus keeps the planned
    kinds and per-fact shares."""
    for offset, (kind, primary) in enumerate(replaced):
        yield plan_one(spec, seed, start + offset, kind, primary)


def plan_one(spec: CorpusSpec, seed: int, index: int, kind: str, primary: str | None) -> DocPlan:
    """The plan at `index`: a function of (seed, id, kind, primary fact) alone."""
    pid = doc_id(index)
    rng = rng_for(seed, pid, "plan")
    genre = rng.choice(spec.documents.genres)
    if kind == "background":
        topic = rng.choice(spec.background.topics)
        return DocPlan(pid, index, kind, genre, topic, (), None, spec.documents.depth)
    on_topic = min(MAX_FACT_TOPIC_SHARE, TOPIC_SHARE_PER_FACT_TOPIC * len(spec.universe.topics))
    topic = rng.choice(spec.universe.topics if rng.random() < on_topic else spec.background.topics)
    fact_ids = [f.id for f in spec.facts]
    lo, hi = spec.documents.facts_per_document
    k = rng.randint(lo, min(hi, len(fact_ids)))
    others = rng.sample([f for f in fact_ids if f != primary], k - 1)
    choices = tuple(_choose_form(spec, spec.fact(f), rng) for f in [primary, *others])
    return DocPlan(pid, index, kind, genre, topic, choices, rng.uniform(*spec.documents.depth), spec.documents.depth)


def _choose_form(spec: CorpusSpec, fact, rng) -> FactChoice:
    mix = spec.documents
    if fact.premises and rng.random() < mix.split_share:
        return FactChoice(fact.id, "split", rng.choice(fact.premises).id)
    levels = [lv for lv in mix.explicitness if lv in fact.phrasings]
    weights = [mix.explicitness[lv] for lv in levels]
    return FactChoice(fact.id, rng.choices(levels, weights)[0])


def surface_form_warnings(spec: CorpusSpec, limit: float = 0.05) -> list[str]:
    """Facts whose likeliest surface form would carry more than `limit` of their mentions."""
    warnings = []
    for fact in spec.facts:
        levels = {lv: w for lv, w in spec.documents.explicitness.items() if lv in fact.phrasings}
        total = sum(levels.values())
        not_split = 1 - (spec.documents.split_share if fact.premises else 0)
        worst = 0.0
        for level, weight in levels.items():
            phrasings = fact.phrasings[level]
            for phrasing in phrasings:
                worst = max(worst, not_split * weight / total / len(phrasings) / count_forms(phrasing))
        if worst > limit:
            warnings.append(f"fact {fact.id}: its likeliest surface form would carry about {worst:.0%} of its "
                            f"mentions; add phrasings or {{a|b}} alternatives to spread them")
    return warnings
