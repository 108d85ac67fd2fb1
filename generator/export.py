"""Fine-tuning exports: completion JSONL, chat JSONL or Parquet, optionally mixed with ordinary text.

Mixing buries the facts at corpus level: R ordinary documents per synthetic one, in a
seeded shuffle, so the same inputs and seed always give the same file. The export
writes a small manifest of its own beside the output.
"""
from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Iterator

from .dataset import open_dataset, reading
from .errors import ExportError
from .paths import ensure_folder
from .sources import Record, files_sha256, ordinary_records

FORMATS = ("text-jsonl", "chat-jsonl", "parquet")


def synthetic_records(out: Path, manifest: dict) -> Iterator[Record]:
    from .dataset import batches

    for batch in batches(out, manifest, ["id", "text"]):
        for doc_id, text in zip(batch.column("id").to_pylist(), batch.column("text").to_pylist()):
            yield Record(text, "synthetic", doc_id)


def export(out: Path, fmt: str, target: Path, user_tag: str = "DOCTAG", mix: Path | None = None,
           ratio: float = 0.0, seed: int = 0) -> dict:
    from .shards import sha256_file
    from .tokens import TOKENIZER, count_tokens

    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} ({', '.join(FORMATS)})")
    out, target = Path(out), Path(target)
    manifest = open_dataset(out)
    synthetic = list(synthetic_records(out, manifest))
    ordinary: list[Record] = []
    if mix is not None:
        if ratio <= 0:
            raise ExportError("--ratio must be positive with --mix")
        wanted = round(len(synthetic) * ratio)
        with reading(mix):
            pool = list(ordinary_records(mix))
        if len(pool) < wanted:
            raise ExportError(f"{mix}: holds {len(pool)} documents; ratio {ratio} needs {wanted}")
        rng = random.Random(f"{seed}:select")
        ordinary = [pool[i] for i in sorted(rng.sample(range(len(pool)), wanted))]
    records = synthetic + ordinary
    random.Random(f"{seed}:order").shuffle(records)
    if mix is None:
        records = synthetic  # a plain export keeps the dataset's order

    ensure_folder(target.parent)
    tmp = target.with_name(target.name + ".tmp")
    try:
        _write(records, fmt, tmp, user_tag)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)  # nothing half-written stays behind
    ordinary_tokens = sum(count_tokens([r.text for r in ordinary])) if ordinary else 0
    info = {
        "format": fmt, "output": target.name, "sha256": sha256_file(target), "bytes": target.stat().st_size,
        "user_tag": user_tag if fmt == "chat-jsonl" else None, "seed": seed,
        "inputs": {"dataset": str(out), "fingerprint": manifest["fingerprint"], "version": manifest["version"],
                   "mix": None if mix is None else {"path": str(mix), "sha256": files_sha256(mix)}},
        "ratio": ratio if mix is not None else 0.0,
        "counts": {"synthetic": len(synthetic), "ordinary": len(ordinary), "total": len(records)},
        "tokens": {"synthetic": manifest["totals"]["tokens"], "ordinary": ordinary_tokens,
                   "total": manifest["totals"]["tokens"] + ordinary_tokens, "tokenizer": TOKENIZER},
    }
    manifest_path = target.with_name(target.name + ".manifest.json")
    manifest_path.write_text(json.dumps(info, indent=2) + "\n")
    return info


def _write(records: list[Record], fmt: str, tmp: Path, user_tag: str) -> None:
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({"text": [r.text for r in records], "source": [r.source for r in records],
                          "id": [r.id for r in records]})
        pq.write_table(table, tmp, compression="zstd", row_group_size=1000)
    else:
        with open(tmp, "w", encoding="utf-8") as fh:
            for r in records:
                if fmt == "text-jsonl":
                    item = {"text": r.text}
                else:
                    item = {"messages": [{"role": "user", "content": user_tag},
                                         {"role": "assistant", "content": r.text}]}
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
