"""The deterministic planner: CorpusSpec -> a stream of DocPlans.

Which positions carry facts is fixed per block of BLOCK plans, so the stream needs
O(BLOCK) memory however large the corpus, and fact documents are spread evenly.
"""
from __future__ import annotations

from typing import Iterator

from .documents import DocPlan, FactChoice
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


def counts(spec: CorpusSpec, total: int | None = None) -> tuple[int, int]:
    if total is None:
        return spec.documents.count, round(spec.documents.count * spec.background.ratio)
    return spec.split_counts(total)


def _kinds(seed: int, n_fact: int, total: int) -> Iterator[str]:
    for start in range(0, total, BLOCK):
        stop = min(start + BLOCK, total)
        # Fact documents due in this block: an even spread, exact overall.
        due = (stop * n_fact) // total - (start * n_fact) // total if total else 0
        kinds = ["fact"] * due + ["background"] * (stop - start - due)
        rng_for(seed, "layout", start).shuffle(kinds)
        yield from kinds


def plan_documents(spec: CorpusSpec, seed: int, total: int | None = None) -> Iterator[DocPlan]:
    n_fact, n_background = counts(spec, total)
    n = n_fact + n_background
    fact_ids = [f.id for f in spec.facts]
    fact_docs = 0
    for index, kind in enumerate(_kinds(seed, n_fact, n)):
        pid = doc_id(index)
        rng = rng_for(seed, pid, "plan")
        genre = rng.choice(spec.documents.genres)
        if kind == "background":
            topic = rng.choice(spec.background.topics)
            yield DocPlan(pid, index, kind, genre, topic, (), None, spec.documents.depth)
            continue
        on_topic = min(MAX_FACT_TOPIC_SHARE, TOPIC_SHARE_PER_FACT_TOPIC * len(spec.universe.topics))
        topic = rng.choice(spec.universe.topics if rng.random() < on_topic else spec.background.topics)
        lo, hi = spec.documents.facts_per_document
        k = rng.randint(lo, min(hi, len(fact_ids)))
        # The first fact rotates so every fact gets its share; the others are drawn.
        primary = fact_ids[fact_docs % len(fact_ids)]
        fact_docs += 1
        others = rng.sample([f for f in fact_ids if f != primary], k - 1)
        choices = tuple(_choose_form(spec, spec.fact(f), rng) for f in [primary, *others])
        yield DocPlan(pid, index, kind, genre, topic, choices, rng.uniform(*spec.documents.depth), spec.documents.depth)


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
