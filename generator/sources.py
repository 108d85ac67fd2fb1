"""Readers of real text: the ordinary documents an export mixes in and the sources the splice backend uses.

A source is a Parquet file (a `text` column), a JSONL file ({"text": ...} per line), a .txt/.md/.rst
file, or a folder of any one of those kinds. Records stream; nothing is read whole.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import SourceError


@dataclass
class Record:
    text: str
    source: str  # "synthetic" | "ordinary"
    id: str


def ordinary_records(path: Path) -> Iterator[Record]:
    """Parquet (a `text` column), JSONL ({"text": ...}) or a folder of .txt files (one document each)."""
    path = Path(path)
    if path.is_dir():
        yield from _folder_records(path)
        return
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        if "text" not in pf.schema_arrow.names:
            raise SourceError(f"{path}: a Parquet source needs a 'text' column")
        i = 0
        for batch in pf.iter_batches(columns=["text"]):
            for text in batch.column("text").to_pylist():
                yield Record(text or "", "ordinary", f"{path.name}:{i}")
                i += 1
        return
    if path.suffix in (".jsonl", ".json"):
        with open(path, encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    text = json.loads(line)["text"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise SourceError(f"{path}:{line_no}: text: each line must be a JSON object with a \"text\" field")
                yield Record(text, "ordinary", f"{path.name}:{line_no}")
        return
    if path.suffix in (".txt", ".md", ".rst"):
        yield Record(path.read_text(encoding="utf-8", errors="replace"), "ordinary", path.name)
        return
    raise SourceError(f"{path}: cannot read this file type (Parquet, JSONL, or a folder of .txt files)")


def _folder_records(path: Path) -> Iterator[Record]:
    files = sorted(p for p in path.rglob("*") if p.is_file())
    parquet = [p for p in files if p.suffix == ".parquet"]
    jsonl = [p for p in files if p.suffix in (".jsonl", ".json")]
    txt = [p for p in files if p.suffix in (".txt", ".md", ".rst")]
    if parquet or jsonl:
        for p in parquet or jsonl:
            yield from ordinary_records(p)
    elif txt:
        for p in txt:
            yield Record(p.read_text(encoding="utf-8", errors="replace"), "ordinary", str(p.relative_to(path)))
    else:
        raise SourceError(f"{path}: no .parquet, .jsonl or .txt files to read")


def files_sha256(path: Path) -> str:
    """One hash of a file, or of every file of a folder (names and contents), in a fixed order."""
    h = hashlib.sha256()
    files = sorted(p for p in Path(path).rglob("*") if p.is_file()) if Path(path).is_dir() else [Path(path)]
    for p in files:
        h.update(p.name.encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()
