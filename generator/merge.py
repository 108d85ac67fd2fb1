"""Merge: work units in plan order -> duplicate checks -> shards of kept documents and of rejected ones.

The only corpus-level state is here: the duplicate index and the running statistics. Units are
read one at a time, so memory stays flat however many there are.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .dedup import Duplicates, minhasher_for
from .diversity import DiversityReport
from .manifest import CorpusStats
from .shards import REJECTED_SCHEMA, SCHEMA, ShardInfo, ShardWriter
from .units import read_summary, read_unit

REJECTED_SHARD_BYTES = 256 * 1024 * 1024


@dataclass
class Merged:
    shards: list[ShardInfo]  # kept documents, in plan order, not yet given their final names
    rejected: list[ShardInfo]
    stats: CorpusStats
    diversity: dict
    rejections: Counter
    realism: dict


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
    realism = RealismFigures()
    considered = 0
    paths = sorted(units_dir.glob("unit-*.arrow"))
    for path in paths:  # every unit's commonest 8-grams first: the candidates counted exactly below
        diversity.add_candidates(read_summary(path))
    try:
        for path in paths:
            unit = read_unit(path)
            for row in unit.rows:
                if row.reason is None:
                    considered += 1
                    duplicate = duplicates.check(row.record, row.minhash)
                    if duplicate:
                        row.reason, row.detail = duplicate[0], f"same as {duplicate[1]}"
                if row.reason is None:
                    stats.add(row.record)
                    diversity.add(row.record, row.names, row.trigrams, row.n_trigrams or 0)
                    diversity.count_eightgrams(row.eightgrams)
                    realism.add(row)
                    writer.write([row.record])
                else:
                    rejections[row.reason] += 1
                    rejected_writer.write([{**row.record, "reason": row.reason, "detail": row.detail}])
    finally:
        duplicates.close()
    found = duplicates.counts["near_duplicate"] + duplicates.counts["exact_duplicate"]
    return Merged(writer.close(), rejected_writer.close(), stats, diversity.result(found, considered), rejections,
                  realism.result(stats.documents, rejections))


class RealismFigures:
    """What a reader would notice, corpus-wide: how many fact documents name the universe outside
    their mentions, and how often the most repeated content unit recurs. The per-document defects
    (seams, two roles, contradictory counts, dates before the events) are rejections, counted by reason."""

    def __init__(self) -> None:
        self.fact_documents = 0
        self.naming_world = 0
        self.units: Counter[str] = Counter()

    def add(self, row) -> None:
        if row.names_world is not None:
            self.fact_documents += 1
            self.naming_world += bool(row.names_world)
        self.units.update(set(row.units or ()))

    def result(self, documents: int, rejections: Counter) -> dict:
        top = max(self.units.items(), key=lambda kv: (kv[1], kv[0]), default=None)
        return {
            "fact_documents_naming_the_universe": round(self.naming_world / max(self.fact_documents, 1), 4),
            "most_repeated_unit": None if top is None else {
                "unit": top[0], "documents": top[1], "share": round(top[1] / max(documents, 1), 4)},
            "defects_rejected": {r: rejections.get(r, 0) for r in REALISM_REASONS},
        }


# The per-document checks of checks.Realism, by the reason they reject with.
REALISM_REASONS = ("doubled_word", "run_together", "agreement", "stray_punctuation", "person_two_roles",
                   "speaker_third_person", "contradictory_counts", "dated_before_events", "subject_not_named",
                   "background_names_world")
