"""Readers of real text: the ordinary documents an export mixes in and the carriers the splice backend uses.

A source is given as a string and parsed into a SourceRef:

- a local Parquet file (a text column), a JSONL file (a text field per line), a .txt/.md/.rst
  file, or a folder of any one of those kinds;
- a Hub dataset, `hf://datasets/ORG/NAME[@REVISION][:CONFIG][/SPLIT]`, read through `datasets`
  in streaming mode (hub_sources.py), never downloaded whole.

Before reading, a source is pinned: a Hub revision (branch, tag or commit) is resolved to its
commit sha, a local source is hashed. Records are then read from exactly that pin, in the
source's own order, one at a time; a reader stops fetching as soon as its caller stops asking.
"""
from __future__ import annotations

import hashlib
import json
import re
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote

from .errors import SourceError

HUB_PREFIX = "hf://"
HUB_SYNTAX = "hf://datasets/ORG/NAME[@REVISION][:CONFIG][/SPLIT]"
# Hub repo names: letters, digits, '-', '_', '.'; not starting with a separator.
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_HUB = re.compile(rf"hf://datasets/(?P<repo>{_NAME}/{_NAME})(?:@(?P<rev>[^:/@]*))?(?::(?P<config>[^/@:]*))?"
                  rf"(?:/(?P<split>[^/@:]*))?")
_SPLIT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_CONFIG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
TEXT_SUFFIXES = (".txt", ".md", ".rst")
GENRE_COLUMN = "genre"  # a source column naming each document's genre, when the source has one


@dataclass(frozen=True)
class SourceRecord:
    id: str  # stable within the pinned source: "file.parquet:12", "sub/page.md", "hf://...@sha/train#12"
    text: str
    genre: str | None = None  # the source's own genre label, if it has a `genre` column


@dataclass(frozen=True)
class SourceRef:
    """A parsed source: a local path, or a Hub dataset with optional revision, config and split."""

    given: str
    text_column: str = "text"
    path: Path | None = None  # local sources
    repo: str | None = None  # Hub sources
    revision: str | None = None
    config: str | None = None
    split: str = "train"

    @property
    def on_hub(self) -> bool:
        return self.repo is not None

    def pinned_uri(self, pin: str) -> str:
        """The Hub form of this source at commit `pin`: itself a valid source that reads the same rows."""
        config = f":{self.config}" if self.config else ""
        return f"hf://datasets/{self.repo}@{pin}{config}/{self.split}"

    def canonical(self) -> str:
        """What the source is, without the revision it was asked by (the pin says which commit)."""
        if self.on_hub:
            return f"hf://datasets/{self.repo}{':' + self.config if self.config else ''}/{self.split}"
        return str(self.path.resolve())


def parse_source(given: str, text_column: str = "text") -> SourceRef:
    """Parse a --mix or --source value; one-line SourceError for anything malformed or missing."""
    if not text_column or not text_column.strip():
        raise SourceError("--text-column must name a column")
    if not given.startswith(HUB_PREFIX):
        path = Path(given)
        if not path.exists():
            raise SourceError(f"{given}: no such file or folder (a Hub dataset is written {HUB_SYNTAX})")
        return SourceRef(given, text_column, path=path)
    match = _HUB.fullmatch(given)
    if not match:
        raise SourceError(f"{given}: not a Hub dataset source; expected {HUB_SYNTAX}, e.g. "
                          "hf://datasets/allenai/c4:en/validation")
    rev, config, split = match.group("rev"), match.group("config"), match.group("split")
    for part, value in (("revision", rev), ("config", config), ("split", split)):
        if value is not None and not value:
            raise SourceError(f"{given}: empty {part}; expected {HUB_SYNTAX}")
    if rev is not None:
        rev = unquote(rev)  # refs/pr/3 is written refs%2Fpr%2F3, as huggingface_hub's own hf:// paths do
    if config is not None and not _CONFIG.fullmatch(config):
        raise SourceError(f"{given}: config {config!r} has characters a config name cannot have")
    if split is not None and not _SPLIT.fullmatch(split):
        raise SourceError(f"{given}: split {split!r} has characters a split name cannot have")
    return SourceRef(given, text_column, repo=match.group("repo"), revision=rev, config=config,
                     split=split or "train")


def pin_source(ref: SourceRef) -> str:
    """The commit sha a Hub source resolves to now, or the sha256 of a local source's files."""
    if ref.on_hub:
        from .hub_sources import resolve_revision

        return resolve_revision(ref.given, ref.repo, ref.revision)
    return files_sha256(ref.path)


def check_pin(ref: SourceRef, pin: str) -> None:
    """Refuse a local source whose files changed since `pin` was taken (a Hub commit cannot change)."""
    if not ref.on_hub and files_sha256(ref.path) != pin:
        raise SourceError(f"{ref.given}: its files changed since the recorded sha256 {pin[:12]}…; "
                          "restore them to rebuild exactly")


def describe(ref: SourceRef, pin: str) -> dict:
    """How manifests name a source: enough to read exactly the same records again."""
    if ref.on_hub:
        return {"source": ref.given, "uri": ref.pinned_uri(pin), "repo": ref.repo, "revision": ref.revision,
                "sha": pin, "config": ref.config, "split": ref.split, "text_column": ref.text_column}
    return {"source": ref.given, "path": str(ref.path), "sha256": pin, "text_column": ref.text_column}


def read_source(ref: SourceRef, pin: str) -> Iterator[SourceRecord]:
    """Every record of the pinned source, in its order (empty texts included: callers decide). Close it
    (contextlib.closing) when stopping early, so a remote reader lets go of its connections at once."""
    if ref.on_hub:
        from .hub_sources import hub_rows

        prefix = ref.pinned_uri(pin)
        with closing(hub_rows(ref.given, ref.repo, ref.config, ref.split, pin, ref.text_column, GENRE_COLUMN)) as rows:
            for row, (text, genre) in enumerate(rows):
                yield SourceRecord(f"{prefix}#{row}", text, genre)
    elif ref.path.is_dir():
        yield from _folder_records(ref.path, ref.text_column)
    else:
        yield from _file_records(ref.path, ref.path.name, ref.text_column)


def _file_records(path: Path, label: str, column: str) -> Iterator[SourceRecord]:
    if path.suffix == ".parquet":
        yield from _parquet_records(path, label, column)
    elif path.suffix in (".jsonl", ".json"):
        yield from _jsonl_records(path, label, column)
    elif path.suffix in TEXT_SUFFIXES:
        yield SourceRecord(label, path.read_text(encoding="utf-8", errors="replace"))
    else:
        raise SourceError(f"{path}: cannot read this file type (Parquet, JSONL, .txt/.md/.rst, or a folder of them)")


# Rows per Parquet read: small, so a file of long documents never sits in memory whole.
PARQUET_BATCH_ROWS = 256


def _parquet_records(path: Path, label: str, column: str) -> Iterator[SourceRecord]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise SourceError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    names = pf.schema_arrow.names
    if column not in names:
        raise SourceError(f"{path}: no column {column!r} (columns: {', '.join(names)}); choose one with --text-column")
    columns = [column] + ([GENRE_COLUMN] if GENRE_COLUMN in names and GENRE_COLUMN != column else [])
    row = 0
    for batch in row_group_batches(pf, columns, PARQUET_BATCH_ROWS):
        texts = batch.column(column).to_pylist()
        genres = batch.column(GENRE_COLUMN).to_pylist() if len(columns) > 1 else [None] * len(texts)
        for text, genre in zip(texts, genres):
            yield SourceRecord(f"{label}:{row}", _as_text(text, path, column), _as_genre(genre))
            row += 1


def row_group_batches(pf, columns: list[str], batch_rows: int):
    """Record batches of a ParquetFile, read with a fresh reader per row group: one reader over the
    whole file holds on to memory in proportion to the file (pyarrow 26: 135 MB after 0.6 GB of text,
    measured), a reader per row group to one row group's worth."""
    for group in range(pf.metadata.num_row_groups):
        yield from pf.iter_batches(batch_size=batch_rows, row_groups=[group], columns=columns, use_threads=False)


def _jsonl_records(path: Path, label: str, column: str) -> Iterator[SourceRecord]:
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                text = item[column]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise SourceError(f"{path}:{line_no}: {column}: each line must be a JSON object with a "
                                  f"{column!r} field") from None
            yield SourceRecord(f"{label}:{line_no}", _as_text(text, path, column), _as_genre(item.get(GENRE_COLUMN)))


def _as_text(value, where, column: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SourceError(f"{where}: column {column!r} holds {type(value).__name__} values, not text")
    return value


def _as_genre(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _folder_records(root: Path, column: str) -> Iterator[SourceRecord]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    parquet = [p for p in files if p.suffix == ".parquet"]
    jsonl = [p for p in files if p.suffix in (".jsonl", ".json")]
    txt = [p for p in files if p.suffix in TEXT_SUFFIXES]
    chosen = parquet or jsonl or txt
    if not chosen:
        raise SourceError(f"{root}: no .parquet, .jsonl or .txt/.md/.rst files to read")
    for p in chosen:
        yield from _file_records(p, p.relative_to(root).as_posix(), column)


def files_sha256(path: Path) -> str:
    """One hash of a file, or of every file of a folder (relative paths and contents), in a fixed order.
    Files are hashed in blocks: a source may be far larger than memory."""
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        h.update((p.relative_to(path).as_posix() if path.is_dir() else p.name).encode() + b"\0")
        inner = hashlib.sha256()
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                inner.update(block)
        h.update(inner.digest())
    return h.hexdigest()
