"""Diversity figures of a corpus, computed as kept documents stream past, in bounded memory.

N-grams are word n-grams (lowercased), hashed to 64 bits with a rolling hash over
word ids in numpy, so counting costs a few array operations per document. 8-gram
frequencies are summarised per work unit where documents are written (in parallel);
the distinct-3-gram ratio is taken over a fixed prefix of the corpus (the first
SAMPLE_DOCS documents in id order) and a fixed 1/16 of the 3-gram hash space, which
bounds memory and keeps the figure comparable across corpus sizes.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from . import variation
from .text import WORD, ngram_hashes, sorted_unique

SAMPLE_DOCS = 10_000  # distinct-3-gram ratio over the first this-many documents
UNIT_TOP_NGRAMS = 500  # 8-grams each work unit reports (its most frequent)
TRIGRAM_SAMPLE = 16  # the distinct-3-gram ratio is estimated from 1/16 of 3-gram hashes (see trigram_sample)
_SAMPLE_SHIFT = np.uint64(64 - (TRIGRAM_SAMPLE.bit_length() - 1))  # top bits zero: 1 in TRIGRAM_SAMPLE


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


def trigram_sample(hashes: np.ndarray) -> np.ndarray:
    """The 3-grams whose hash falls in a fixed 1/TRIGRAM_SAMPLE of the hash space.

    Distinct/all over this sample estimates the corpus ratio (every occurrence of a 3-gram is
    in or out together), from 1/16 of the data the merge has to hold and sort.
    """
    return hashes[(hashes >> _SAMPLE_SHIFT) == 0]


def trigram_digest(ids: np.ndarray) -> tuple[bytes, int]:
    """(distinct sampled 3-gram hashes as bytes, number of sampled 3-grams) of one document of the
    3-gram sample: computed where documents are written, so the serial merge only concatenates."""
    sampled = trigram_sample(ngram_hashes(ids, 3))
    return sorted_unique(sampled).tobytes(), len(sampled)


def doc_eightgrams(record: dict, words: list[str], ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct 8-gram hashes outside the fact spans, the word position of each one's first occurrence)."""
    grams = ngram_hashes(ids, 8)
    positions = np.arange(len(grams))
    if len(grams) and record["spans"]:
        keep = _outside_spans(record["text"], record["spans"], len(words))
        grams, positions = grams[keep], positions[keep]
    unique, first = np.unique(grams, return_index=True)
    return unique, positions[first]


def eightgram_summary(docs: list[tuple[list[str], np.ndarray, np.ndarray]], k: int = UNIT_TOP_NGRAMS
                      ) -> dict[int, list]:
    """The k 8-grams (outside fact spans) in most documents of one work unit, with their text.

    `docs` holds (words, distinct 8-gram hashes, first positions) of the unit's kept documents, as
    doc_eightgrams gives them. The union of the units' lists is the candidate set the merge then
    counts exactly over every kept document: an 8-gram common in the corpus is among the most
    common of some unit.
    """
    if not docs:
        return {}
    values, first, counts = np.unique(np.concatenate([unique for _, unique, _ in docs]), return_index=True,
                                      return_counts=True)
    repeated = counts >= 2
    values, first, counts = values[repeated], first[repeated], counts[repeated]
    top = np.lexsort((values, -counts))[:k]  # most frequent first, ties by hash: the same in every process
    doc_of = np.concatenate([np.full(len(unique), r, dtype=np.int32) for r, (_, unique, _) in enumerate(docs)])
    pos_of = np.concatenate([positions for _, _, positions in docs])
    out = {}
    for g, n, r, p in zip(values[top].tolist(), counts[top].tolist(), doc_of[first[top]].tolist(),
                          pos_of[first[top]].tolist()):
        out[g] = [n, " ".join(docs[r][0][p:p + 8])]
    return out


def _outside_spans(text: str, spans: list[dict], n_words: int) -> np.ndarray:
    """Mask of the 8-grams (by start word) that touch no word of a fact span."""
    lowered = text.lower()
    inside = np.zeros(n_words + 1, dtype=np.int64)
    for span in spans:
        start, end = span["start"], span["end"]
        before = len(WORD.findall(lowered, 0, start))
        first = before
        if first and 0 < start < len(lowered) and lowered[start - 1].isalnum() and lowered[start].isalnum():
            first -= 1  # a word cut by the span's start overlaps it
        last = before + len(WORD.findall(lowered, start, end))
        inside[first] += 1
        inside[min(last, n_words)] -= 1
    covered = np.cumsum(inside[:n_words]) > 0
    return np.convolve(covered.astype(np.int64), np.ones(8, dtype=np.int64), mode="valid") == 0


class DiversityReport:
    def __init__(self, exempt_names: set[str], as_phrased=None):
        self.exempt = exempt_names
        # A mention as its phrasing reads (generator.world.World.without_appositives), to count forms by.
        self.as_phrased = as_phrased or (lambda mention: mention)
        self.documents = 0
        self.trigram_total = 0
        self.sampled = 0
        self._trigrams: list[np.ndarray] = []
        self.names = HeavyHitters()
        self.forms: dict[str, Counter[str]] = defaultdict(Counter)
        self.eightgrams: dict[int, list] = {}  # candidate hash -> [documents, text]
        self._candidates: np.ndarray | None = None
        self._counts = np.zeros(0, dtype=np.int64)

    def add(self, row: dict, names: list[str] | None = None, trigrams: bytes | None = None,
            n_trigrams: int = 0) -> None:
        self.documents += 1
        for span in row["spans"]:
            mention = self.as_phrased(row["text"][span["start"]:span["end"]])
            self.forms[span["fact"]][variation.sentence_case_undone(mention)] += 1
        for name in sorted(set(names or ())):
            if name not in self.exempt:
                self.names.add(name)
        if trigrams is not None:
            self.sampled += 1
            self.trigram_total += n_trigrams
            self._trigrams.append(np.frombuffer(trigrams, dtype=np.uint64))

    def add_candidates(self, summary: dict) -> None:
        """A unit's most common 8-grams become candidates; `count_eightgrams` then counts them exactly."""
        for g, (_, text) in summary.items():
            self.eightgrams.setdefault(int(g), [0, text])
        self._candidates = None

    def count_eightgrams(self, blob: bytes | None) -> None:
        """Count, for one kept document, the candidates among its distinct 8-grams."""
        if not blob or not self.eightgrams:
            return
        if self._candidates is None:
            self._candidates = np.array(sorted(self.eightgrams), dtype=np.uint64)
            self._counts = np.zeros(len(self._candidates), dtype=np.int64)
        hashes = np.frombuffer(blob, dtype=np.uint64)  # distinct within the document
        at = np.searchsorted(self._candidates, hashes)
        inside = at < len(self._candidates)
        at, hashes = at[inside], hashes[inside]
        self._counts[at[self._candidates[at] == hashes]] += 1

    def result(self, near_duplicates: int = 0, considered: int | None = None) -> dict:
        distinct = len(sorted_unique(np.concatenate(self._trigrams))) if self._trigrams else 0
        docs = max(self.documents, 1)
        if self._candidates is not None:
            for g, n in zip(self._candidates.tolist(), self._counts.tolist()):
                self.eightgrams[g][0] = n
        top_gram = max(self.eightgrams.items(), key=lambda kv: (kv[1][0], -kv[0]), default=None)
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
            "distinct_3gram_ratio": round(distinct / max(self.trigram_total, 1), 4),
            "distinct_3gram_sample_documents": self.sampled,
            "near_duplicate_share": round(near_duplicates / max(considered, 1), 4),
            "near_duplicates": near_duplicates,
            "top_person_name": None if top_name is None else {
                "name": top_name[0], "documents": top_name[1], "share": round(top_name[1] / docs, 4)},
            "top_fact_forms": forms,
            "top_8gram": None if top_gram is None else {
                "ngram": top_gram[1][1], "documents": min(top_gram[1][0], self.documents),
                "share": round(min(top_gram[1][0], self.documents) / docs, 4)},
        }
