"""Per-document checks. Each returns None (keep) or a reason string; nothing is dropped silently."""
from __future__ import annotations

import functools

from . import variation
from .documents import Document
from .spec import CorpusSpec


class FactCheck:
    """Every span lies inside the text and is an exact surface form of the fact it names."""

    name = "fact_check"

    def __init__(self, spec: CorpusSpec, exact_phrasings: bool = True):
        self.spec = spec
        # LLM documents word their mentions freely; only offline ones must match a phrasing.
        self.exact_phrasings = exact_phrasings

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
            if not self.exact_phrasings:
                continue
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


def document_filters(spec: CorpusSpec, exact_phrasings: bool = True) -> list:
    return [FactCheck(spec, exact_phrasings), TokenLength(spec)]


class MinHasher:
    """MinHash signatures of word shingles (datasketch), stored as bytes so units can carry them."""

    def __init__(self, shingle_words: int = 5, num_perm: int = 128):
        from datasketch import MinHash

        self.shingle_words = shingle_words
        self.num_perm = num_perm
        self._template = MinHash(num_perm)

    def _empty(self, hashvalues=None):
        from datasketch import MinHash

        t = self._template
        return MinHash(self.num_perm, permutations=t.permutations, scheme=t.scheme, hashvalues=hashvalues)

    def signature(self, text: str) -> bytes:
        from .diversity import shingles, words_with_offsets

        words = words_with_offsets(text)[0]
        m = self._empty()
        m.update_batch([s.encode() for s in shingles(words, self.shingle_words)])
        return m.hashvalues.tobytes()

    def minhash(self, blob: bytes):
        import numpy as np

        return self._empty(np.frombuffer(blob, dtype=self._template.hashvalues.dtype).copy())


class Duplicates:
    """Exact duplicates by text hash, near duplicates by MinHash LSH; the smallest id is kept.

    Rows arrive in id order, so "an earlier document" is always the one with the smaller id,
    which makes the choice deterministic. State grows with the corpus: 32 bytes of text hash
    plus one signature (num_perm x 4 bytes) and the LSH band keys per kept document.
    """

    def __init__(self, hasher: MinHasher, threshold: float | None):
        self.hasher = hasher
        self.threshold = threshold
        self.texts: dict[bytes, str] = {}
        self.signatures: dict[str, object] = {}
        self.lsh = None
        if threshold is not None:
            from datasketch import MinHashLSH

            self.lsh = MinHashLSH(threshold=threshold, num_perm=hasher.num_perm)
        self.counts = {"exact_duplicate": 0, "near_duplicate": 0}

    def check(self, row: dict) -> tuple[str, str] | None:
        import hashlib

        digest = hashlib.sha256(row["text"].encode()).digest()
        if digest in self.texts:
            self.counts["exact_duplicate"] += 1
            return "exact_duplicate", self.texts[digest]
        if self.lsh is not None and row.get("minhash"):
            m = self.hasher.minhash(row["minhash"])
            for other in sorted(self.lsh.query(m)):
                if self.signatures[other].jaccard(m) >= self.threshold:
                    self.counts["near_duplicate"] += 1
                    return "near_duplicate", other
            self.lsh.insert(row["id"], m)
            self.signatures[row["id"]] = m
        self.texts[digest] = row["id"]
        return None
