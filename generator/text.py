"""Words and word n-gram hashes: the unit of every n-gram figure, MinHash shingle and decontamination check.

N-grams are hashed to 64 bits with a rolling hash over word ids in numpy, so counting them
costs a few array operations per document instead of a Python loop over strings.
"""
from __future__ import annotations

import re
import zlib

import numpy as np

WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_MULT = np.uint64(0x9E3779B97F4A7C15)


class _WordIds(dict):
    """word -> crc32, memoised: dict lookups are several times cheaper than hashing each word again."""

    LIMIT = 1 << 18  # stop memoising past this many distinct words: at most ~35 MB on odd inputs (the
    # bundled corpora use about 27k words at 6,000 documents)

    def __missing__(self, word: str) -> int:
        value = zlib.crc32(word.encode())
        if len(self) < self.LIMIT:
            self[word] = value
        return value


_IDS = _WordIds()


def words_of(text: str) -> list[str]:
    """Lowercased words."""
    return WORD.findall(text.lower())


def word_ids(words: list[str]) -> np.ndarray:
    """Word ids that are the same in every process (unlike hash()), for n-gram hashing."""
    return np.fromiter(map(_IDS.__getitem__, words), dtype=np.uint64, count=len(words))


def ngram_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """64-bit hash of every n-gram of word ids (wrapping arithmetic, deterministic)."""
    if len(ids) < n:
        return np.zeros(0, dtype=np.uint64)
    h = np.zeros(len(ids) - n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _MULT + ids[k:len(ids) - n + 1 + k]
    return h


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting: numpy 2's plain np.unique hashes instead, 10-15x slower on uint64 (measured)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
