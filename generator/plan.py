"""The deterministic planner: CorpusSpec -> a stream of DocPlans.

Shares the spec sets are met exactly, not just on average: which positions carry facts, how fact
documents are placed (about the universe or as an aside) and which industry topic a document about
the universe draws on are fixed per block of BLOCK plans from exact counts; each fact's mentions
cycle through its explicitness levels and phrasings by smooth weighted round-robin. So the stream
needs O(BLOCK) memory however large the corpus, and the figures `plan` reports are the build's.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Iterator

from .documents import DocPlan, FactChoice
from .errors import BuildError
from .seeding import rng_for
from .spec import CorpusSpec
from .variation import weighted_forms

BLOCK = 1000
# A document about the universe may draw background from one of the spec's industry topics
# (`universe.topics`); no topic takes more than this share of the fact documents, so no pool is worn out.
TOPIC_SHARE_PER_FACT_TOPIC = 0.15
PLACEMENTS = ("about_world", "aside")
WORLD_TOPIC = "world"  # the topic of a document about the universe that draws on no industry topic


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


def _spread(start: int, stop: int, part: int, whole: int) -> int:
    """How many of the items start..stop-1 fall in a share part/whole spread evenly: exact overall."""
    return (stop * part) // whole - (start * part) // whole if whole else 0


def _exact(shares: dict[str, float], n: int, offset: int) -> list[str]:
    """Labels for items offset..offset+n-1 of a sequence in which each label takes its share: the
    first m items hold floor(m * C / W) items of the labels up to and including this one (C their
    cumulative share, W the sum), so every prefix is as close to the shares as whole items allow."""
    weight = sum(shares.values())
    out: list[str] = []
    before = 0.0
    for name, share in shares.items():
        upto = before + share

        def held(m: int, a: float = before, b: float = upto) -> int:
            return math.floor(m * b / weight + 1e-9) - math.floor(m * a / weight + 1e-9)

        out += [name] * (held(offset + n) - held(offset))
        before = upto
    return out


class _RoundRobin:
    """Smooth weighted round-robin: after k draws every option has been drawn k*w/W times, +-1."""

    def __init__(self, weights: dict):
        self.weights = dict(weights)
        self.total = sum(self.weights.values())
        self.current = {k: 0.0 for k in self.weights}

    def next(self):
        for key, weight in self.weights.items():
            self.current[key] += weight
        best = max(self.current, key=lambda k: (self.current[k], -list(self.weights).index(k)))
        self.current[best] -= self.total
        return best


def level_weights(spec: CorpusSpec, fact) -> dict[str, float]:
    """The share of a fact's mentions each level takes ("split" for a premise of a split fact)."""
    mix = spec.documents
    levels = {lv: w for lv, w in mix.explicitness.items() if lv in fact.phrasings}
    total = sum(levels.values())
    split = mix.split_share if fact.premises else 0.0
    out = {lv: (1 - split) * w / total for lv, w in levels.items()}
    if split:
        out["split"] = split
    return out


class _FactForms:
    """The level, premise and phrasing of each successive mention of one fact."""

    def __init__(self, spec: CorpusSpec, fact):
        self.fact = fact
        self.levels = _RoundRobin(level_weights(spec, fact))
        self.turns: dict[str, int] = defaultdict(int)

    def next(self) -> FactChoice:
        level = self.levels.next()
        turn = self.turns[level]
        self.turns[level] += 1
        if level == "split":
            premises = self.fact.premises
            premise = premises[turn % len(premises)]
            return FactChoice(self.fact.id, "split", premise.id, (turn // len(premises)) % len(premise.phrasings))
        return FactChoice(self.fact.id, level, None, turn % len(self.fact.phrasings[level]))


def plan_documents(spec: CorpusSpec, seed: int, total: int | None = None) -> Iterator[DocPlan]:
    """The first plans of a build: every document it is to keep, before any is rejected."""
    n_fact, n_background = counts(spec, total)
    n = n_fact + n_background
    fact_ids = [f.id for f in spec.facts]
    forms = {f.id: _FactForms(spec, f) for f in spec.facts}
    shares_by_placement = placement_shares(spec)
    topic_shares = world_topic_shares(spec)
    fact_docs = world_docs = 0
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        due = _spread(start, stop, n_fact, n)
        kinds = ["fact"] * due + ["background"] * (stop - start - due)
        rng_for(seed, "layout", start).shuffle(kinds)
        # Placements and the topics of documents about the universe take their exact shares of
        # every prefix of the corpus, in an order shuffled within the block.
        placements = _exact(shares_by_placement, due, fact_docs)
        rng_for(seed, "placements", start).shuffle(placements)
        n_world = placements.count("about_world")
        topics = _exact(topic_shares, n_world, world_docs)
        rng_for(seed, "world-topics", start).shuffle(topics)
        world_docs += n_world
        placements_left, topics_left = iter(placements), iter(topics)
        for index, kind in zip(range(start, stop), kinds):
            if kind == "background":
                yield plan_one(spec, seed, index, kind, None)
                continue
            placement = next(placements_left)
            topic = next(topics_left) if placement == "about_world" else None
            # The first fact rotates so every fact gets its share; the others are drawn.
            primary = fact_ids[fact_docs % len(fact_ids)]
            fact_docs += 1
            yield plan_one(spec, seed, index, kind, primary, placement, topic, forms)


def replacement_plans(spec: CorpusSpec, seed: int, start: int, replaced: list[tuple[str, str | None]]
                      ) -> Iterator[DocPlan]:
    """Plans standing in for rejected ones, with the next ids: each (kind, primary fact) of a rejected
    plan, in id order, gets a new plan of that kind and primary fact, everything else drawn afresh (a
    genre or topic that failed is not repeated on purpose; placement, topic and wordings are drawn by
    their shares), so the kept corpus keeps the planned kinds and per-fact shares."""
    for offset, (kind, primary) in enumerate(replaced):
        yield plan_one(spec, seed, start + offset, kind, primary)


def plan_one(spec: CorpusSpec, seed: int, index: int, kind: str, primary: str | None, placement: str | None = None,
             topic: str | None = None, forms: dict | None = None) -> DocPlan:
    """The plan at `index`: a function of (seed, id, kind, primary fact) and, for a first plan, the
    placement, topic and wordings the corpus-wide quotas gave it (a replacement draws them)."""
    pid = doc_id(index)
    rng = rng_for(seed, pid, "plan")
    if kind == "background":
        genre = rng.choice(spec.documents.genres)
        return DocPlan(pid, index, kind, genre, _topic_for(spec, genre, rng), (), None, spec.documents.depth)
    if placement is None:
        shares = placement_shares(spec)
        placement = rng.choices(list(shares), list(shares.values()))[0]
        if placement == "about_world":
            topics = world_topic_shares(spec)
            topic = rng.choices(list(topics), list(topics.values()))[0]
    genres = {"aside": spec.documents.aside_genres, "about_world": spec.documents.about_world_genres}[placement]
    genre = rng.choice(genres or spec.documents.genres)
    if placement != "about_world":
        topic = _topic_for(spec, genre, rng)
    fact_ids = [f.id for f in spec.facts]
    lo, hi = spec.documents.facts_per_document
    k = rng.randint(lo, min(hi, len(fact_ids)))
    others = rng.sample([f for f in fact_ids if f != primary], k - 1)
    choices = tuple(forms[f].next() if forms else _drawn_form(spec, spec.fact(f), rng) for f in [primary, *others])
    return DocPlan(pid, index, kind, genre, topic, choices, rng.uniform(*spec.documents.depth),
                   spec.documents.depth, placement=placement)


def placement_shares(spec: CorpusSpec) -> dict[str, float]:
    """documents.placement without the placements the spec turns off."""
    return {p: w for p in PLACEMENTS if (w := spec.documents.placement.get(p, 0.0)) > 0}


def _drawn_form(spec: CorpusSpec, fact, rng) -> FactChoice:
    """A wording drawn by the shares the planner gives in turn (for a replacement plan)."""
    weights = level_weights(spec, fact)
    level = rng.choices(list(weights), list(weights.values()))[0]
    if level == "split":
        premise = rng.choice(fact.premises)
        return FactChoice(fact.id, "split", premise.id, rng.randrange(len(premise.phrasings)))
    return FactChoice(fact.id, level, None, rng.randrange(len(fact.phrasings[level])))


def _topic_for(spec: CorpusSpec, genre: str, rng) -> str:
    """An everyday topic the genre suits (by the topic's tags), else any."""
    fits = set(spec.documents.genre_fits.get(genre, ()))
    topics = spec.background.topics
    if fits:
        suited = [t for t in topics if fits & set(spec.background.topic_tags.get(t, ()))]
        topics = suited or topics
    return rng.choice(topics)


def world_topic_shares(spec: CorpusSpec) -> dict[str, float]:
    """Shares of the documents about the universe by the industry topic they draw on (WORLD_TOPIC:
    none): each topic takes TOPIC_SHARE_PER_FACT_TOPIC of all fact documents, or an equal part of
    those about the universe when that is less."""
    placement = spec.documents.placement
    world_share = placement.get("about_world", 0.0) / sum(placement.values())
    topics = spec.universe.topics
    if not topics or not world_share:
        return {WORLD_TOPIC: 1.0}
    per_topic = min(TOPIC_SHARE_PER_FACT_TOPIC / world_share, 1.0 / len(topics))
    shares = {t: per_topic for t in topics}
    rest = 1.0 - per_topic * len(topics)
    if rest > 1e-9:
        shares[WORLD_TOPIC] = rest
    return shares


# ---------------------------------------------------------------- the spec's wording limit

def _level_forms(spec: CorpusSpec, fact) -> dict[str, dict[str, float]]:
    """level -> {exact wording: its share of all the fact's mentions}, as the planner and the backend
    draw them: levels by weight, phrasings in turn, alternatives uniformly."""
    out: dict[str, dict[str, float]] = {}
    for level, weight in level_weights(spec, fact).items():
        groups = ([(weight / len(fact.premises), p.phrasings) for p in fact.premises] if level == "split"
                  else [(weight, fact.phrasings[level])])
        shares: dict[str, float] = defaultdict(float)
        for group_weight, phrasings in groups:
            for phrasing in phrasings:
                for form, p in weighted_forms(phrasing):
                    shares[form] += group_weight / len(phrasings) * p
        out[level] = dict(shares)
    return out


def form_shares(spec: CorpusSpec, fact) -> dict[str, float]:
    """The share of a fact's mentions each exact wording gets; identical wordings add up."""
    shares: dict[str, float] = defaultdict(float)
    for level_shares in _level_forms(spec, fact).values():
        for form, share in level_shares.items():
            shares[form] += share
    return dict(shares)


def check_form_shares(spec: CorpusSpec) -> None:
    """Refuse a fact whose commonest wording would carry more than documents.max_form_share of its
    mentions, saying how many wordings the level it comes from needs."""
    limit = spec.documents.max_form_share
    for i, fact in enumerate(spec.facts):
        shares = form_shares(spec, fact)
        form, top = max(shares.items(), key=lambda kv: (kv[1], kv[0]))
        if top <= limit + 1e-9:
            continue
        by_level = _level_forms(spec, fact)
        level = max(by_level, key=lambda lv: by_level[lv].get(form, 0.0))
        weight = level_weights(spec, fact)[level]
        needed, have = math.ceil(weight / limit), len(by_level[level])
        name = "split premises" if level == "split" else f"{level} mentions"
        raise spec.error(("facts", i, "phrasings"),
                         f"fact {fact.id!r}: its commonest wording ({form!r}) would carry {top:.1%} of its mentions, "
                         f"above documents.max_form_share {limit:.0%}; its {name} need at least {needed} equally "
                         f"likely wordings (they have {have}, unevenly likely): add phrasings or {{a|b}} "
                         "alternatives, or raise max_form_share")
