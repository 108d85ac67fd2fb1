"""Merge: work units in plan order -> duplicate checks -> shards of kept documents and of rejected ones.

The only corpus-level state is here: the duplicate index and the running statistics. Units are
read one at a time, so memory stays flat however many there are. A build feeds the units of each
round in turn (the first plans, then replacements for what was rejected, whose ids come later):
ids only grow, so every duplicate decision already taken stays as it was.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .dedup import Duplicates, minhasher_for
from .diversity import DiversityReport
from .errors import BuildError
from .manifest import CorpusStats
from .shards import REJECTED_SCHEMA, SCHEMA, ShardInfo, ShardWriter
from .units import read_column, read_unit
from .world import World

REJECTED_SHARD_BYTES = 256 * 1024 * 1024


@dataclass
class Merged:
    shards: list[ShardInfo]  # kept documents, in plan order, not yet given their final names
    rejected: list[ShardInfo]
    stats: CorpusStats
    diversity: dict
    rejections: Counter
    realism: dict
    example: dict | None = None  # the shortest kept document with one fact mention, for the card


@dataclass(frozen=True)
class Rejected:
    """A plan the merge did not keep: what a replacement needs to stand in for it."""

    id: str
    kind: str
    primary: str | None  # the first fact of the plan; None for background
    reason: str


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


class Merger:
    """Takes unit files in plan order; writes kept rows to shards and the rest to rejected/."""

    def __init__(self, spec, shards_dir: Path, rejected_dir: Path, scratch: Path):
        out = spec.output
        self.writer = ShardWriter(shards_dir, "shard", SCHEMA, int(out.shard_size_mb * 1024 * 1024),
                                  out.row_group_rows, out.compression, out.compression_level)
        self.rejected_writer = ShardWriter(rejected_dir, "rejected", REJECTED_SCHEMA, REJECTED_SHARD_BYTES,
                                           out.row_group_rows, out.compression, out.compression_level)
        self.stats = CorpusStats()
        self.diversity = DiversityReport(spec.universe_names, World(spec).without_appositives)
        nd = spec.filters.near_duplicates
        self.duplicates = Duplicates(minhasher_for(spec), nd.threshold if nd else None, scratch=scratch)
        self.rejections: Counter[str] = Counter()
        self.realism = RealismFigures()
        self.considered = 0
        self.example: dict | None = None
        # (unit file, indices of its kept rows): the 8-grams are counted exactly once every unit's
        # candidates are known, by reading those rows' 8-gram column again at close().
        self.kept_rows: list[tuple[Path, list[int]]] = []

    def add(self, path: Path) -> list[Rejected]:
        """Merge one unit; return the plans of it that were not kept."""
        unit = _read_unit(path)
        self.diversity.add_candidates(unit.eightgrams)
        refused, kept = [], []
        for index, row in enumerate(unit.rows):
            if row.reason is None:
                self.considered += 1
                duplicate = self.duplicates.check(row.record, row.minhash)
                if duplicate:
                    row.reason, row.detail = duplicate
            if row.reason is None:
                self.stats.add(row.record)
                self.diversity.add(row.record, row.names, row.trigrams, row.n_trigrams or 0)
                self.realism.add(row)
                self.writer.write([row.record])
                self._consider_example(row.record)
                kept.append(index)
                continue
            self.rejections[row.reason] += 1
            self.rejected_writer.write([{**row.record, "reason": row.reason, "detail": row.detail,
                                         "drafts": row.drafts}])
            facts = row.record["facts"]
            refused.append(Rejected(row.record["id"], row.record["kind"], facts[0] if facts else None, row.reason))
        self.kept_rows.append((path, kept))
        return refused

    def _consider_example(self, record: dict) -> None:
        if record["kind"] != "fact" or len(record["spans"]) != 1:
            return
        if self.example is None or (len(record["text"]), record["id"]) < (len(self.example["text"]), self.example["id"]):
            self.example = record

    def close(self) -> Merged:
        self.duplicates.close()
        for path, kept in self.kept_rows:
            blobs = read_column(path, "eightgrams")
            for index in kept:
                self.diversity.count_eightgrams(blobs[index])
        found = self.duplicates.counts["near_duplicate"] + self.duplicates.counts["exact_duplicate"]
        return Merged(self.writer.close(), self.rejected_writer.close(), self.stats,
                      self.diversity.result(found, self.considered), self.rejections,
                      self.realism.result(self.stats.documents, self.rejections), self.example)

    def abort(self) -> None:
        self.duplicates.close()


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
