"""A finished dataset folder, read by the commands that use one (stats, sample, export, diff).

The manifest is checked and every file re-hashed before anything is read or written from it,
so a damaged folder is one line naming the file, never a pyarrow traceback or a figure drawn
from half a shard. Read errors that remain (a shard truncated after the check) are named too.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import DatasetError
from .verify import read_manifest, verify_dataset


def open_dataset(out: Path | str, verify: bool = True) -> dict:
    """OUT's manifest once OUT is known to be whole; DatasetError names the first problem."""
    manifest = read_manifest(out)
    if verify:
        problems = verify_dataset(out).problems
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise DatasetError(f"{out}: {problems[0]}{more}; `sdfgen verify {out}` lists them")
    return manifest


def _read_errors() -> tuple[type[BaseException], ...]:
    import pyarrow as pa

    return (OSError, pa.ArrowException)


@contextmanager
def reading(path: Path):
    """Turn a pyarrow or OS error while reading `path` into a one-line DatasetError naming it."""
    try:
        yield
    except _read_errors() as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetError(f"{path}: cannot read: {reason}") from None


def shard_paths(out: Path | str, manifest: dict) -> list[Path]:
    return [Path(out) / entry["path"] for entry in manifest["shards"]]


def batches(out: Path | str, manifest: dict, columns: list[str] | None = None) -> Iterator:
    """Record batches of the kept documents, shard by shard in order."""
    import pyarrow.parquet as pq

    for path in shard_paths(out, manifest):
        with reading(path):
            for batch in pq.ParquetFile(path).iter_batches(columns=columns):
                yield batch


def rows(out: Path | str, manifest: dict, columns: list[str] | None = None) -> Iterator[dict]:
    for batch in batches(out, manifest, columns):
        yield from batch.to_pylist()
