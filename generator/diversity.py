"""Diversity figures of a corpus, computed as kept documents stream past, in bounded memory.

N-grams are word n-grams (lowercased), hashed to 64 bits with a rolling hash over
word ids in numpy, so counting costs a few array operations per document. Figures
that would need unbounded state are taken over a fixed prefix of the corpus (the
first SAMPLE_DOCS documents in id order), which also keeps them comparable across
corpus sizes.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict

import numpy as np

WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
SAMPLE_DOCS = 10_000  # distinct-3-gram ratio over the first this-many documents
CANDIDATE_DOCS = 1_000  # 8-grams frequent in these become candidates, then counted exactly everywhere
CANDIDATES = 500
_MULT = np.uint64(0x9E3779B97F4A7C15)


def words_with_offsets(text: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    lowered = text.lower()
    matches = list(WORD.finditer(lowered))
    starts = np.fromiter((m.start() for m in matches), dtype=np.int64, count=len(matches))
    ends = np.fromiter((m.end() for m in matches), dtype=np.int64, count=len(matches))
    return [m.group() for m in matches], starts, ends


def shingles(words: list[str], size: int) -> list[str]:
    if len(words) < size:
        return [" ".join(words)] if words else []
    return [" ".join(words[i:i + size]) for i in range(len(words) - size + 1)]


class HeavyHitters:
    """Misra-Gries counts in bounded memory: exact while fewer than `k` distinct items were seen,
    otherwise each count is low by at most total/(k+1). Enough to find the most frequent name."""

    def __init__(self, k: int = 50_000):
        self.k = k
        self.counts: dict[str, int] = {}
        self.total = 0

    def add(self, item: str) -> None:
        self.total += 1
        if item in self.counts:
            self.counts[item] += 1
        elif len(self.counts) < self.k:
            self.counts[item] = 1
        else:
            self.counts = {key: n - 1 for key, n in self.counts.items() if n > 1}

    def items(self):
        return self.counts.items()


class Vocabulary:
    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def encode(self, words: list[str]) -> np.ndarray:
        ids = self.ids
        return np.fromiter((ids.setdefault(w, len(ids) + 1) for w in words), dtype=np.uint64, count=len(words))


def ngram_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """64-bit hash of every n-gram of word ids (wrapping arithmetic, deterministic)."""
    if len(ids) < n:
        return np.zeros(0, dtype=np.uint64)
    h = np.zeros(len(ids) - n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _MULT + ids[k:len(ids) - n + 1 + k]
    return h


class DiversityReport:
    def __init__(self, exempt_names: set[str]):
        self.exempt = exempt_names
        self.vocab = Vocabulary()
        self.documents = 0
        self.trigram_total = 0
        self.trigram_seen = np.zeros(0, dtype=np.uint64)
        self._trigram_pending: list[np.ndarray] = []
        self.names = HeavyHitters()
        self.forms: dict[str, Counter[str]] = defaultdict(Counter)
        self._sample: list[tuple[np.ndarray, np.ndarray, list[str]]] = []
        self._candidates: dict[int, int] | None = None
        self._candidate_text: dict[int, str] = {}

    def add(self, row: dict, names: list[str] | None = None) -> None:
        self.documents += 1
        for span in row["spans"]:
            self.forms[span["fact"]][row["text"][span["start"]:span["end"]]] += 1
        for name in sorted(set(names or ())):
            if name not in self.exempt:
                self.names.add(name)
        words, starts, ends = words_with_offsets(row["text"])
        ids = self.vocab.encode(words)
        if self.documents <= SAMPLE_DOCS:
            grams = ngram_hashes(ids, 3)
            self.trigram_total += len(grams)
            self._trigram_pending.append(np.unique(grams))
            if len(self._trigram_pending) >= 500:
                self._fold_trigrams()
        self._count_eightgrams(row, words, ids, starts, ends)

    def _fold_trigrams(self) -> None:
        self.trigram_seen = np.unique(np.concatenate([self.trigram_seen, *self._trigram_pending]))
        self._trigram_pending = []

    def _count_eightgrams(self, row, words, ids, starts, ends) -> None:
        grams = ngram_hashes(ids, 8)
        if len(grams) and row["spans"]:
            # Drop 8-grams that touch a fact mention: those repeat by design.
            inside = np.zeros(len(words), dtype=np.int64)
            for span in row["spans"]:
                inside |= (ends > span["start"]) & (starts < span["end"])
            window = np.convolve(inside, np.ones(8, dtype=np.int64), mode="valid")
            keep = window == 0
            positions = np.nonzero(keep)[0]
            grams = grams[keep]
        else:
            positions = np.arange(len(grams))
        unique, first = np.unique(grams, return_index=True)
        if self._candidates is None:
            self._sample.append((unique, positions[first], words))
            if self.documents >= CANDIDATE_DOCS:
                self._choose_candidates()
            return
        hits = np.isin(unique, self._candidate_keys)
        for g in unique[hits].tolist():
            self._candidates[g] += 1

    def _choose_candidates(self) -> None:
        """Take the sample's most frequent 8-grams as candidates; count them exactly from here on."""
        self._candidates = {}
        self._candidate_keys = np.zeros(0, dtype=np.uint64)
        if self._sample:
            values, counts = np.unique(np.concatenate([u for u, _, _ in self._sample]), return_counts=True)
            order = np.argsort(-counts, kind="stable")[:CANDIDATES]
            self._candidates = {int(values[i]): int(counts[i]) for i in order if counts[i] > 1}
            self._candidate_keys = np.array(sorted(self._candidates), dtype=np.uint64)
            for unique, positions, words in self._sample:
                hits = np.nonzero(np.isin(unique, self._candidate_keys))[0]
                for i in hits.tolist():
                    g = int(unique[i])
                    if g not in self._candidate_text:
                        p = int(positions[i])
                        self._candidate_text[g] = " ".join(words[p:p + 8])
        self._sample = []

    def result(self, near_duplicates: int = 0, considered: int | None = None) -> dict:
        if self._candidates is None:
            self._choose_candidates()
        if self._trigram_pending:
            self._fold_trigrams()
        docs = max(self.documents, 1)
        top_gram = max(self._candidates.items(), key=lambda kv: (kv[1], -kv[0]), default=None)
        top_name = max(self.names.items(), key=lambda kv: (kv[1], kv[0]), default=None)
        forms = {}
        for fact in sorted(self.forms):
            counter = self.forms[fact]
            form, n = max(counter.items(), key=lambda kv: (kv[1], kv[0]))
            total = sum(counter.values())
            forms[fact] = {"form": form, "mentions": n, "share": round(n / total, 4),
                           "distinct_forms": len(counter), "total_mentions": total}
        considered = considered if considered is not None else self.documents
        return {
            "documents": self.documents,
            "distinct_3gram_ratio": round(len(self.trigram_seen) / max(self.trigram_total, 1), 4),
            "distinct_3gram_sample_documents": min(self.documents, SAMPLE_DOCS),
            "near_duplicate_share": round(near_duplicates / max(considered, 1), 4),
            "near_duplicates": near_duplicates,
            "top_person_name": None if top_name is None else {
                "name": top_name[0], "documents": top_name[1], "share": round(top_name[1] / docs, 4)},
            "top_fact_forms": forms,
            "top_8gram": None if top_gram is None else {
                "ngram": self._candidate_text[top_gram[0]], "documents": top_gram[1],
                "share": round(top_gram[1] / docs, 4)},
        }
