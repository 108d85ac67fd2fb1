"""Merge: work units in plan order -> duplicate checks -> shards of kept documents and of rejected ones.

The only corpus-level state is here: the duplicate index and the running statistics. Units are
read one at a time, so memory stays flat however many there are.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .dedup import Duplicates, minhasher_for
from .errors import BuildError
from .diversity import DiversityReport
from .manifest import CorpusStats
from .shards import REJECTED_SCHEMA, SCHEMA, ShardInfo, ShardWriter
from .units import read_unit

REJECTED_SHARD_BYTES = 256 * 1024 * 1024


@dataclass
class Merged:
    shards: list[ShardInfo]  # kept documents, in plan order, not yet given their final names
    rejected: list[ShardInfo]
    stats: CorpusStats
    diversity: dict
    rejections: Counter


def _read_unit(path: Path):
    """A unit file, or BuildError naming a damaged one, which is removed so that the next run rewrites it."""
    import pyarrow as pa

    try:
        return read_unit(path)
    except (OSError, pa.ArrowException) as exc:
        path.unlink(missing_ok=True)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BuildError(f"{path}: damaged work unit ({reason}); removed it: run the same command again "
                         "to write it anew") from None


def merge_units(spec, units_dir: Path, shards_dir: Path, rejected_dir: Path, scratch: Path) -> Merged:
    out = spec.output
    writer = ShardWriter(shards_dir, "shard", SCHEMA, int(out.shard_size_mb * 1024 * 1024), out.row_group_rows,
                         out.compression, out.compression_level)
    rejected_writer = ShardWriter(rejected_dir, "rejected", REJECTED_SCHEMA, REJECTED_SHARD_BYTES,
                                  out.row_group_rows, out.compression, out.compression_level)
    stats = CorpusStats()
    diversity = DiversityReport(spec.universe_names)
    nd = spec.filters.near_duplicates
    duplicates = Duplicates(minhasher_for(spec), nd.threshold if nd else None, scratch=scratch)
    rejections: Counter[str] = Counter()
    considered = 0
    try:
        for path in sorted(units_dir.glob("unit-*.arrow")):
            unit = _read_unit(path)
            diversity.add_unit(unit.eightgrams)
            for row in unit.rows:
                if row.reason is None:
                    considered += 1
                    duplicate = duplicates.check(row.record, row.minhash)
                    if duplicate:
                        row.reason, row.detail = duplicate[0], f"same as {duplicate[1]}"
                if row.reason is None:
                    stats.add(row.record)
                    diversity.add(row.record, row.names, row.trigrams, row.n_trigrams or 0)
                    writer.write([row.record])
                else:
                    rejections[row.reason] += 1
                    rejected_writer.write([{**row.record, "reason": row.reason, "detail": row.detail}])
    finally:
        duplicates.close()
    found = duplicates.counts["near_duplicate"] + duplicates.counts["exact_duplicate"]
    return Merged(writer.close(), rejected_writer.close(), stats, diversity.result(found, considered), rejections)
