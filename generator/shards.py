"""Parquet shards with the record schema of DESIGN.md and pinned writer settings.

Pinned settings (format version, page version, dictionary, statistics) make the
bytes a function of the rows alone for a given pyarrow release, which is what
lets two builds of one spec compare byte for byte.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

SPAN = pa.struct([
    ("fact", pa.string()), ("start", pa.int32()), ("end", pa.int32()),
    ("explicitness", pa.string()), ("premise", pa.string()),
])
SCHEMA = pa.schema([
    pa.field("id", pa.string(), nullable=False),
    pa.field("text", pa.string(), nullable=False),
    pa.field("kind", pa.string(), nullable=False),
    pa.field("genre", pa.string(), nullable=False),
    pa.field("topic", pa.string()),
    pa.field("facts", pa.list_(pa.string()), nullable=False),
    pa.field("spans", pa.list_(SPAN), nullable=False),
    pa.field("depth", pa.float32()),
    pa.field("n_tokens", pa.int32(), nullable=False),
    pa.field("title", pa.string()),
    pa.field("idea", pa.string()),
    pa.field("source_id", pa.string()),
])
# rejected/ holds every rejected document with its reason, for the audit trail.
# `drafts`: every answer a model gave for a rejected document (LLM backends), the last one also in `text`.
REJECTED_SCHEMA = (SCHEMA.append(pa.field("reason", pa.string())).append(pa.field("detail", pa.string()))
                   .append(pa.field("drafts", pa.list_(pa.string()))))
# Work units carry what the corpus-level steps need beside each record (documents.UnitRow).
UNIT_SCHEMA = pa.schema(list(SCHEMA) + [
    pa.field("names", pa.list_(pa.string())), pa.field("minhash", pa.binary()), pa.field("trigrams", pa.binary()),
    pa.field("n_trigrams", pa.int32()), pa.field("eightgrams", pa.binary()), pa.field("units", pa.list_(pa.string())),
    pa.field("names_world", pa.bool_()), pa.field("reason", pa.string()), pa.field("detail", pa.string()),
    pa.field("drafts", pa.list_(pa.string()))])


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class ShardInfo:
    path: Path
    rows: int
    tokens: int
    bytes: int = 0
    sha256: str = ""


class ShardWriter:
    """Writes rows into shard files of about `target_bytes`, one row group per `row_group_rows` rows."""

    def __init__(self, folder: Path, prefix: str, schema: pa.Schema, target_bytes: int, row_group_rows: int,
                 compression: str = "zstd", compression_level: int | None = 3):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.schema = schema
        self.target_bytes = target_bytes
        self.row_group_rows = row_group_rows
        self.compression = None if compression == "none" else compression
        self.compression_level = compression_level if self.compression in ("zstd", "gzip") else None
        self.shards: list[ShardInfo] = []
        self._buffer: list[dict] = []
        self._writer: pq.ParquetWriter | None = None
        self._sink = None

    def _open(self) -> None:
        path = self.folder / f"{self.prefix}-{len(self.shards):05d}.parquet"
        self._sink = open(path, "wb")
        self._writer = pq.ParquetWriter(
            self._sink, self.schema, compression=self.compression, compression_level=self.compression_level,
            use_dictionary=["kind", "genre", "topic"], write_statistics=True, version="2.6",
            data_page_version="1.0", store_schema=True,
        )
        self.shards.append(ShardInfo(path, 0, 0))

    def write(self, rows: Iterable[dict]) -> None:
        for row in rows:
            self._buffer.append(row)
            if len(self._buffer) >= self.row_group_rows:
                self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        if self._writer is None:
            self._open()
        table = pa.Table.from_pylist(self._buffer, schema=self.schema)
        self._writer.write_table(table, row_group_size=len(self._buffer))
        shard = self.shards[-1]
        shard.rows += len(self._buffer)
        shard.tokens += sum(r["n_tokens"] for r in self._buffer)
        self._buffer = []
        if self._sink.tell() >= self.target_bytes:
            self._close_current()

    def _close_current(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.flush()
            os.fsync(self._sink.fileno())
            self._sink.close()
            self._writer = None
            shard = self.shards[-1]
            shard.bytes = shard.path.stat().st_size
            shard.sha256 = sha256_file(shard.path)

    def close(self) -> list[ShardInfo]:
        self._flush()
        self._close_current()
        return self.shards
