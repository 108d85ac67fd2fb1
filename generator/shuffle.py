"""A seeded shuffle of more text than fits in memory: scatter to bucket files by a hash key, then sort each bucket.

Every record gets a 64-bit key, a keyed hash of (seed, stream, id). The output order is the
order of the keys, which is a uniformly random permutation for a given seed and the same
records, whatever order they arrive in. Records are appended to one of N bucket files by key
range; each bucket, read back in key-range order, is sorted in memory and written out. A bucket
that grew past the memory budget is split again by the next bits of its key range before it
is read. Memory is therefore bounded by the budget, not by the output, and the order does not
depend on the number of buckets or the budget (tested).
"""
from __future__ import annotations

import hashlib
import shutil
import struct
from pathlib import Path
from typing import Iterator

HEADER = struct.Struct("<QBII")  # key, stream, id bytes, text bytes
KEY_SPACE = 1 << 64
SPLIT_INTO = 16
WRITE_BUFFER = 256 * 1024


def shuffle_key(seed: int, stream: str, record_id: str) -> int:
    digest = hashlib.blake2b(f"{seed}\x1f{stream}\x1f{record_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class ExternalShuffle:
    """add() records of a few named streams, then iterate them as (stream, id, text) in shuffled order."""

    def __init__(self, scratch: Path, seed: int, streams: tuple[str, ...], buckets: int = 16,
                 bucket_bytes: int = 64 << 20):
        self.scratch = Path(scratch)
        self.seed = seed
        self.streams = streams
        self.buckets = max(1, buckets)
        self.bucket_bytes = bucket_bytes
        self.scratch.mkdir(parents=True, exist_ok=True)
        self._width = -(-KEY_SPACE // self.buckets)  # bucket i holds keys [i * width, (i + 1) * width)
        self._files = [open(self._bucket_path(i), "wb", buffering=WRITE_BUFFER) for i in range(self.buckets)]
        self.added = 0

    def _bucket_path(self, i: int) -> Path:
        return self.scratch / f"bucket-{i:05d}.bin"

    def add(self, stream: str, record_id: str, text: str) -> None:
        key = shuffle_key(self.seed, stream, record_id)
        rid, body = record_id.encode(), text.encode("utf-8", "surrogatepass")
        fh = self._files[key // self._width]
        fh.write(HEADER.pack(key, self.streams.index(stream), len(rid), len(body)))
        fh.write(rid)
        fh.write(body)
        self.added += 1

    def __iter__(self) -> Iterator[tuple[str, str, str]]:
        for fh in self._files:
            fh.close()
        for i in range(self.buckets):
            yield from self._drain(self._bucket_path(i), i * self._width, min(KEY_SPACE, (i + 1) * self._width))

    def _drain(self, path: Path, lo: int, hi: int) -> Iterator[tuple[str, str, str]]:
        if path.stat().st_size > self.bucket_bytes and hi - lo >= SPLIT_INTO:
            yield from self._split(path, lo, hi)
            return
        data = path.read_bytes()
        entries, at = [], 0
        while at < len(data):
            key, stream, n_id, n_text = HEADER.unpack_from(data, at)
            at += HEADER.size
            entries.append((key, stream, data[at:at + n_id], at + n_id, at + n_id + n_text))
            at += n_id + n_text
        path.unlink()
        entries.sort(key=lambda e: e[:3])  # ties on the key (never seen) fall back to stream and id
        for _, stream, rid, start, end in entries:
            yield self.streams[stream], rid.decode(), data[start:end].decode("utf-8", "surrogatepass")

    def _split(self, path: Path, lo: int, hi: int) -> Iterator[tuple[str, str, str]]:
        width = -(-(hi - lo) // SPLIT_INTO)
        parts = [path.with_name(f"{path.stem}-{j:02d}.bin") for j in range(SPLIT_INTO)]
        outs = [open(p, "wb", buffering=WRITE_BUFFER) for p in parts]
        with open(path, "rb") as fh:
            while header := fh.read(HEADER.size):
                key, _, n_id, n_text = HEADER.unpack(header)
                outs[(key - lo) // width].write(header + fh.read(n_id + n_text))
        for out in outs:
            out.close()
        path.unlink()
        for j, part in enumerate(parts):
            yield from self._drain(part, lo + j * width, min(hi, lo + (j + 1) * width))

    def close(self) -> None:
        for fh in self._files:
            fh.close()
        shutil.rmtree(self.scratch, ignore_errors=True)
