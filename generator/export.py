"""Fine-tuning exports: completion JSONL, chat JSONL or Parquet, optionally mixed with ordinary text.

Mixing buries the facts at corpus level: R ordinary documents per synthetic one, or R ordinary
tokens per synthetic token (mix.py decides how many are taken). The two streams are shuffled
together by a seeded external shuffle (shuffle.py): every record gets a keyed hash of (seed,
stream, id) and the file is written in key order, so the same inputs and seed give the same
bytes, and memory stays bounded however large the output (records wait in bucket files on disk,
not in memory). The export writes a small manifest of its own beside the output, naming each
source with its pin (Hub commit sha or sha256) and its share in documents and tokens.
"""
from __future__ import annotations

import json
import math
import os
import shutil
from contextlib import closing
from pathlib import Path
from typing import Iterator

from .dataset import open_dataset, reading
from .errors import ExportError
from .mix import Tally, mix_target, take_ordinary
from .paths import ensure_folder
from .sources import describe, parse_source, pin_source, read_source, row_group_batches

FORMATS = ("text-jsonl", "chat-jsonl", "parquet")
PARQUET_ROWS = 1000
BYTES_PER_TOKEN = 4.5  # English text under cl100k_base; only sizes the shuffle's buckets
BUCKET_BYTES = 64 << 20


def synthetic_records(out: Path, manifest: dict) -> Iterator[tuple[str, str, int]]:
    """(id, text, tokens) of every document of a (verified) dataset folder, in its order."""
    import pyarrow.parquet as pq

    from .dataset import shard_paths

    for shard in shard_paths(out, manifest):
        with reading(shard):
            for batch in row_group_batches(pq.ParquetFile(shard), ["id", "text", "n_tokens"], PARQUET_ROWS):
                yield from zip(batch.column("id").to_pylist(), batch.column("text").to_pylist(),
                               batch.column("n_tokens").to_pylist())


class RecordWriter:
    """Writes records one at a time to `tmp` in the export format; nothing is held but one Parquet row group."""

    def __init__(self, fmt: str, tmp: Path, user_tag: str):
        self.fmt, self.tmp, self.user_tag = fmt, tmp, user_tag
        self.closed = False
        self.rows: dict[str, list] = {"text": [], "source": [], "id": []}
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            self.schema = pa.schema([("text", pa.string()), ("source", pa.string()), ("id", pa.string())])
            self.parquet = pq.ParquetWriter(tmp, self.schema, compression="zstd")
        else:
            self.fh = open(tmp, "w", encoding="utf-8")

    def write(self, source: str, record_id: str, text: str) -> None:
        if self.fmt == "parquet":
            for name, value in (("text", text), ("source", source), ("id", record_id)):
                self.rows[name].append(value)
            if len(self.rows["text"]) >= PARQUET_ROWS:
                self._flush()
            return
        if self.fmt == "text-jsonl":
            item = {"text": text}
        else:
            item = {"messages": [{"role": "user", "content": self.user_tag}, {"role": "assistant", "content": text}]}
        self.fh.write(json.dumps(item, ensure_ascii=False) + "\n")

    def _flush(self) -> None:
        import pyarrow as pa

        if self.rows["text"]:
            self.parquet.write_table(pa.table(self.rows, schema=self.schema), row_group_size=PARQUET_ROWS)
            self.rows = {name: [] for name in self.rows}

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.fmt == "parquet":
            self._flush()
            self.parquet.close()
        else:
            self.fh.close()


def export(out: Path, fmt: str, target: Path, user_tag: str = "DOCTAG", mix: str | None = None,
           ratio: float = 1.0, seed: int = 0, ratio_by: str = "documents", text_column: str = "text") -> dict:
    from .shards import sha256_file
    from .tokens import TOKENIZER

    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} ({', '.join(FORMATS)})")
    out, target = Path(out), Path(target)
    manifest = open_dataset(out)
    n_synthetic, synthetic_tokens = manifest["totals"]["documents"], manifest["totals"]["tokens"]
    ref = pin = None
    if mix is not None:
        wanted = mix_target(ratio_by, ratio, n_synthetic, synthetic_tokens)
        ref = parse_source(str(mix), text_column)
        pin = pin_source(ref)
    tally = Tally()
    ensure_folder(target.parent)
    tmp = target.with_name(target.name + ".tmp")
    writer = RecordWriter(fmt, tmp, user_tag)
    try:
        if ref is None:
            for doc_id, text, _ in synthetic_records(out, manifest):  # a plain export keeps the dataset's order
                writer.write("synthetic", doc_id, text)
        else:
            _write_mixed(writer, out, manifest, target, ref, pin, ratio_by, wanted, seed, tally, synthetic_tokens,
                         n_synthetic)
        writer.close()
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)

    total_docs, total_tokens = n_synthetic + tally.documents, synthetic_tokens + tally.tokens
    synthetic = {"name": "synthetic", "dataset": str(out), "fingerprint": manifest["fingerprint"],
                 "version": manifest["version"], "documents": n_synthetic, "tokens": synthetic_tokens}
    sources = [synthetic]
    if ref is not None:
        sources.append({"name": "ordinary", **describe(ref, pin), "documents": tally.documents, "tokens": tally.tokens,
                        "rows_read": tally.rows_read, "skipped_empty": tally.skipped_empty})
    for source in sources:
        source["share"] = {"documents": round(source["documents"] / total_docs, 6) if total_docs else 0.0,
                           "tokens": round(source["tokens"] / total_tokens, 6) if total_tokens else 0.0}
    info = {
        "format": fmt, "output": target.name, "sha256": sha256_file(target), "bytes": target.stat().st_size,
        "user_tag": user_tag if fmt == "chat-jsonl" else None, "seed": seed,
        "inputs": {"dataset": str(out), "fingerprint": manifest["fingerprint"], "version": manifest["version"],
                   "mix": None if ref is None else describe(ref, pin)},
        "ratio": ratio if ref is not None else 0.0,
        "ratio_by": ratio_by if ref is not None else None,
        "target": None if ref is None else {
            "by": ratio_by, "wanted": wanted, "got": tally.documents if ratio_by == "documents" else tally.tokens},
        "sources": sources,
        "counts": {"synthetic": n_synthetic, "ordinary": tally.documents, "total": total_docs},
        "tokens": {"synthetic": synthetic_tokens, "ordinary": tally.tokens, "total": total_tokens,
                   "tokenizer": TOKENIZER},
    }
    manifest_path = target.with_name(target.name + ".manifest.json")
    manifest_path.write_text(json.dumps(info, indent=2) + "\n")
    return info


def _write_mixed(writer: RecordWriter, out: Path, manifest: dict, target: Path, ref, pin: str, ratio_by: str,
                 wanted: int, seed: int, tally: Tally, synthetic_tokens: int, n_synthetic: int) -> None:
    from .shuffle import ExternalShuffle

    # Buckets sized from the expected output; a bucket that overflows its budget splits again,
    # so a poor guess (ordinary documents much longer than synthetic ones) costs time, not memory.
    tokens_each = synthetic_tokens / max(1, n_synthetic)
    ordinary_tokens = wanted if ratio_by == "tokens" else wanted * tokens_each
    expected = BYTES_PER_TOKEN * (synthetic_tokens + ordinary_tokens)
    buckets = min(256, max(1, math.ceil(expected / (BUCKET_BYTES / 2))))
    scratch = target.with_name(f".{target.name}.shuffle")
    shutil.rmtree(scratch, ignore_errors=True)
    shuffle = ExternalShuffle(scratch, seed, ("synthetic", "ordinary"), buckets, BUCKET_BYTES)
    try:
        for doc_id, text, _ in synthetic_records(out, manifest):
            shuffle.add("synthetic", doc_id, text)
        with closing(read_source(ref, pin)) as records:
            for record, _ in take_ordinary(records, ratio_by, wanted, tally, ref.given):
                shuffle.add("ordinary", record.id, record.text)
        for stream, record_id, text in shuffle:
            writer.write(stream, record_id, text)
    finally:
        shuffle.close()
