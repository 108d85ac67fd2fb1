"""Per-document checks. Each returns None (keep) or a reason string; nothing is dropped silently."""
from __future__ import annotations

import functools

from . import variation
from .documents import Document
from .spec import CorpusSpec


class FactCheck:
    """Every span lies inside the text and is an exact surface form of the fact it names."""

    name = "fact_check"

    def __init__(self, spec: CorpusSpec):
        self.spec = spec

    @functools.lru_cache(maxsize=None)
    def _patterns(self, fact_id: str, level: str, premise: str | None) -> tuple[variation.Matcher, ...]:
        fact = self.spec.fact(fact_id)
        texts = fact.premise(premise).phrasings if premise else fact.phrasings.get(level, ())
        return tuple(variation.matcher(t) for t in texts)

    def check(self, doc: Document) -> str | None:
        if doc.kind == "background":
            return "background_has_span" if doc.spans else None
        if not doc.spans:
            return "no_fact_mention"
        for span in doc.spans:
            if span.fact not in doc.facts:
                return "span_mismatch"
            if not 0 <= span.start < span.end <= len(doc.text):
                return "span_out_of_text"
            try:
                patterns = self._patterns(span.fact, span.explicitness, span.premise)
            except (KeyError, StopIteration):
                return "span_mismatch"
            mention = doc.text[span.start:span.end]
            if not any(p.matches(mention) for p in patterns):
                return "span_mismatch"
        if not {s.fact for s in doc.spans} >= set(doc.facts):
            return "no_fact_mention"
        lo, hi = self.spec.depth
        if not lo <= doc.depth <= hi:
            return "depth_out_of_range"
        return None


class TokenLength:
    name = "length"

    def __init__(self, spec: CorpusSpec):
        self.lo, self.hi = spec.min_tokens, spec.max_tokens

    def check(self, doc: Document) -> str | None:
        if doc.n_tokens < self.lo:
            return "too_short"
        if doc.n_tokens > self.hi:
            return "too_long"
        return None


def document_filters(spec: CorpusSpec) -> list:
    return [FactCheck(spec), TokenLength(spec)]
