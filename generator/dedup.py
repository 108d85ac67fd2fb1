"""Duplicate detection in bounded memory: exact (text hash) and near (MinHash LSH).

Signatures are datasketch MinHashes. The LSH band index is ours because datasketch's
in-memory MinHashLSH keeps about 6 KB per document (measured: 600 MB at 100,000
documents), which breaks the promise of flat memory. We use datasketch's own choice of
bands and rows for the threshold, and store each band's keys in sorted numpy arrays
(12 bytes per key) with a small dict for recent inserts, merged every 4,096 inserts. Full
signatures live in a file in the build folder and are read back only to confirm an LSH
candidate, so the growing state is about 14 x 12 + 12 bytes per kept document, plus at
most ~10 MB of not-yet-merged inserts.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from .spec import NearDuplicates
from .text import ngram_hashes, word_ids, words_of

_MULT = np.uint64(0x9E3779B97F4A7C15)
MERGE_EVERY = 1 << 12  # pending dict entries cost ~175 B each; merging often keeps them few


class MinHasher:
    """MinHash signatures of word shingles (datasketch), stored as bytes so units can carry them.

    A shingle's hash is a rolling hash of its word ids, folded to 32 bits, computed for a whole
    document in a few numpy operations; datasketch then applies its permutations. Hashing each
    shingle string in Python instead cost 0.6 ms a document (measured), more than everything else
    the checks do.
    """

    def __init__(self, shingle_words: int = 5, num_perm: int = 128):
        from datasketch import MinHash

        self.shingle_words = shingle_words
        self.num_perm = num_perm
        self._template = MinHash(num_perm, hashfunc=int)

    def _empty(self, hashvalues=None):
        from datasketch import MinHash

        t = self._template
        return MinHash(self.num_perm, permutations=t.permutations, scheme=t.scheme, hashvalues=hashvalues,
                       hashfunc=int)

    def signature(self, text: str) -> bytes:
        return self.signature_of(word_ids(words_of(text)))

    def signature_of(self, ids) -> bytes:
        """The signature of a document given its word ids (text.word_ids)."""
        m = self._empty()
        size = min(self.shingle_words, len(ids))  # a text shorter than a shingle is one shingle
        if size:
            hashes = ngram_hashes(ids, size)
            m.update_batch(((hashes >> 32) ^ (hashes & 0xFFFFFFFF)).tolist())
        return m.hashvalues.tobytes()

    def minhash(self, blob: bytes):
        return self._empty(np.frombuffer(blob, dtype=self._template.hashvalues.dtype).copy())


class KeyTable:
    """A multimap uint64 -> int32 that grows by appending: sorted arrays plus a pending dict."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, dtype=np.uint64)
        self.vals = np.zeros(0, dtype=np.int32)
        self.pending: dict[int, list[int]] = {}
        self.pending_count = 0

    def get(self, key: int) -> list[int]:
        out = list(self.pending.get(key, ()))
        if len(self.keys):
            k = np.uint64(key)
            lo = int(np.searchsorted(self.keys, k, "left"))
            hi = int(np.searchsorted(self.keys, k, "right"))
            out += self.vals[lo:hi].tolist()
        return out

    def add(self, key: int, value: int) -> None:
        self.pending.setdefault(key, []).append(value)
        self.pending_count += 1
        if self.pending_count >= MERGE_EVERY:
            self._merge()

    def _merge(self) -> None:
        ks = np.fromiter((k for k, vs in self.pending.items() for _ in vs), dtype=np.uint64, count=self.pending_count)
        vs = np.fromiter((v for vs in self.pending.values() for v in vs), dtype=np.int32, count=self.pending_count)
        keys = np.concatenate([self.keys, ks])
        vals = np.concatenate([self.vals, vs])
        order = np.argsort(keys, kind="stable")
        self.keys, self.vals = keys[order], vals[order]
        self.pending, self.pending_count = {}, 0

    def nbytes(self) -> int:
        return self.keys.nbytes + self.vals.nbytes + self.pending_count * 175


class SignatureStore:
    """Fixed-size signatures appended to a scratch file; read back by index."""

    def __init__(self, width: int, folder: Path | None = None):
        self.width = width
        fd, self.path = tempfile.mkstemp(prefix="signatures-", suffix=".bin", dir=folder)
        self.fd = fd
        self.count = 0

    def append(self, blob: bytes) -> int:
        os.pwrite(self.fd, blob, self.count * self.width)
        self.count += 1
        return self.count - 1

    def read(self, index: int) -> bytes:
        return os.pread(self.fd, self.width, index * self.width)

    def close(self) -> None:
        os.close(self.fd)
        os.unlink(self.path)


class CompactLSH:
    def __init__(self, threshold: float, num_perm: int):
        from datasketch.lsh import _optimal_param

        self.threshold = threshold
        self.bands, self.rows = _optimal_param(threshold, num_perm, 0.5, 0.5)
        self.tables = [KeyTable() for _ in range(self.bands)]

    def band_keys(self, hashvalues: np.ndarray) -> list[int]:
        view = hashvalues[: self.bands * self.rows].astype(np.uint64).reshape(self.bands, self.rows)
        h = np.zeros(self.bands, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for j in range(self.rows):
                h = h * _MULT + view[:, j]
        return h.tolist()

    def candidates(self, keys: list[int]) -> list[int]:
        found: set[int] = set()
        for table, key in zip(self.tables, keys):
            found.update(table.get(key))
        return sorted(found)

    def insert(self, keys: list[int], index: int) -> None:
        for table, key in zip(self.tables, keys):
            table.add(key, index)


class Duplicates:
    """Exact duplicates by text hash, near duplicates by MinHash LSH; the smallest id is kept.

    Rows arrive in id order, so "an earlier document" is always the one with the smaller id,
    which makes the choice deterministic.
    """

    def __init__(self, hasher, threshold: float | None, scratch: Path | None = None):
        self.hasher = hasher
        self.threshold = threshold
        self.texts = KeyTable()
        self.ids: list[str] = []
        self.lsh = CompactLSH(threshold, hasher.num_perm) if threshold is not None else None
        self.store = SignatureStore(hasher.num_perm * 4, scratch) if threshold is not None else None
        self.counts = {"exact_duplicate": 0, "near_duplicate": 0}

    def check(self, record: dict, minhash: bytes | None) -> tuple[str, str] | None:
        """(reason, detail naming the earlier document) when `record` duplicates one seen before, else None."""
        digest = int.from_bytes(hashlib.sha256(record["text"].encode()).digest()[:8], "big")
        for index in self.texts.get(digest):
            self.counts["exact_duplicate"] += 1
            return "exact_duplicate", f"same text as {self.ids[index]}"
        keys = None
        if self.lsh is not None and minhash:
            values = np.frombuffer(minhash, dtype=np.uint32)
            keys = self.lsh.band_keys(values)
            for index in self.lsh.candidates(keys):
                other = np.frombuffer(self.store.read(index), dtype=np.uint32)
                similarity = float(np.mean(other == values))
                if similarity >= self.threshold:
                    self.counts["near_duplicate"] += 1
                    return "near_duplicate", (f"estimated Jaccard {similarity:.2f} with {self.ids[index]} "
                                              f"(threshold {self.threshold:g})")
        index = len(self.ids)
        self.ids.append(record["id"])
        self.texts.add(digest, index)
        if keys is not None:
            self.store.append(minhash)
            self.lsh.insert(keys, index)
        else:
            if self.store is not None:
                self.store.append(bytes(self.store.width))
        return None

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def minhasher_for(spec) -> MinHasher:
    """The MinHasher of a spec's near-duplicate settings (the defaults when dedup is off: units still carry signatures)."""
    settings = spec.filters.near_duplicates or NearDuplicates()
    return MinHasher(settings.shingle_words)
