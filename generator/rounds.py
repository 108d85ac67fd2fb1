"""The plans of a build, round after round: written as work units, merged, and replaced where rejected.

Round 0 holds the plans of every document to keep (and the --add documents). Each later round
plans one replacement, with the next ids, for every generated plan the round before did not keep
(plan.replacement_plans: same kind and first fact), writes them as further units and merges them
after the earlier ones. Ids only grow, so no earlier duplicate decision changes; a round's plans
depend only on what earlier rounds kept, which depends only on the spec and seed: the same units,
the same bytes, for any worker count and after any interruption.
"""
from __future__ import annotations

import itertools
import shutil
import sys
from collections import Counter
from pathlib import Path

from .added import added_plans
from .backends import import_path
from .checks import document_checks
from .engine import make_engine
from .errors import BuildError
from .merge import Merged, Merger
from .paths import templates_root
from .plan import counts, doc_index, plan_documents, replacement_plans
from .units import UnitJob, run_unit, write_unit

# Replacement rounds after the first plans: each plans one document for every one the round before
# did not keep. Rounds shrink geometrically with the rejection rate; the bounds stop a spec whose
# filters reject nearly everything from running (and, with a model, spending) for ever: at most 20
# rounds, at most as many replacements as first plans, and no further round after one that kept
# none of at least 8 plans.
MAX_REPLACEMENT_ROUNDS = 20
MAX_REPLACEMENT_SHARE = 1.0
NO_PROGRESS_EVIDENCE = 8


def _chunks(plans, size: int):
    while chunk := list(itertools.islice(plans, size)):
        yield chunk


class Rounds:
    """Writes and merges the rounds of one build until every generated plan is kept or a bound is met."""

    def __init__(self, spec, backend, cls, settings, seed: int, work: Path, count: int | None, add: list[Path],
                 n_added: int, unit_size: int, progress: bool, log):
        self.spec, self.backend, self.cls, self.settings, self.seed = spec, backend, cls, settings, seed
        self.work, self.count, self.add, self.n_added = work, count, add, n_added
        self.unit_size, self.progress, self.log = unit_size, progress, log
        self.checks = document_checks(spec, cls.exact_phrasings, cls.writes_world)
        self.engine = None
        n_fact, n_background = counts(spec, count)
        self.generated = n_fact + n_background
        self.planned = self.generated + n_added
        self.units = 0  # unit files numbered across rounds, in plan order
        self.reused = 0
        self.history: list[tuple[int, list]] = []  # (first index, [(kind, primary)]) of each replacement round

    def start_engine(self, executor: str, workers: int, ray_address: str | None) -> None:
        try:
            self.engine = make_engine(executor, workers, ray_address, local=self._write_here)
        except RuntimeError as exc:
            raise BuildError(str(exc)) from None

    def _write_here(self, job: UnitJob) -> None:
        """A unit written in this process, which already holds the spec, backend and checks."""
        write_unit(Path(job.path), run_unit(self.spec, self.backend, self.checks, list(job.plans)))

    def _generated_plans(self):
        """Every generated plan so far, in id order (what an LLM backend assigns its ideas from)."""
        plans = plan_documents(self.spec, self.seed, self.count)
        return itertools.chain(plans, *(replacement_plans(self.spec, self.seed, start, replaced)
                                        for start, replaced in self.history))

    def all(self) -> tuple[Merged, dict]:
        """Every round, merged: the merge result and the manifest's `replacements` record."""
        from tqdm import tqdm

        for stale in (self.work / "publish", self.work / "shards"):
            if stale.exists():
                shutil.rmtree(stale)
        merger = Merger(self.spec, self.work / "shards", self.work / "publish" / "rejected", scratch=self.work)
        reasons: Counter[str] = Counter()
        try:
            with tqdm(total=self.planned, unit="doc", desc="writing", file=sys.stderr,
                      disable=not self.progress or None) as bar:
                self.backend.prepare(self._generated_plans())
                first = itertools.chain(plan_documents(self.spec, self.seed, self.count),
                                        added_plans(self.add, self.generated, self.spec.documents.depth))
                added = range(self.generated, self.planned)
                pending = [r for path in self._write(first, bar) for r in merger.add(path)
                           if doc_index(r.id) not in added]
                tried, budget = self.generated, int(self.generated * MAX_REPLACEMENT_SHARE)
                while pending and len(self.history) < MAX_REPLACEMENT_ROUNDS and budget > 0:
                    if len(pending) == tried and tried >= NO_PROGRESS_EVIDENCE:
                        break  # the last round kept none of its plans: another would do no better
                    chosen, rest = pending[:budget], pending[budget:]
                    budget -= len(chosen)
                    start = self.planned
                    replaced = [(r.kind, r.primary) for r in chosen]
                    self.history.append((start, replaced))
                    reasons.update(r.reason for r in chosen)
                    self.planned += len(replaced)
                    bar.total = self.planned
                    bar.refresh()
                    self.backend.prepare(self._generated_plans())
                    plans = replacement_plans(self.spec, self.seed, start, replaced)
                    pending = [r for path in self._write(plans, bar) for r in merger.add(path)] + rest
                    tried = len(replaced)
            merged = merger.close()
        except BaseException:
            merger.abort()
            raise
        n_fact, n_background = counts(self.spec, self.count)
        if pending:
            self.log(f"warning: kept {self.generated - len(pending):,} documents, {len(pending):,} short of the "
                     f"{self.generated:,} planned, after {len(self.history)} round(s) of replacements "
                     f"({', '.join(f'{k} {v}' for k, v in Counter(r.reason for r in pending).most_common())})")
        replacements = {"target_fact_documents": n_fact, "target_background_documents": n_background,
                        "rounds": len(self.history), "planned": sum(len(r) for _, r in self.history),
                        "by_reason": dict(sorted(reasons.items())), "shortfall": len(pending)}
        return merged, replacements

    def _write(self, plans, bar) -> list[Path]:
        """Write every unit of `plans` not yet on disk; return the unit files in plan order."""
        units_dir = self.work / "units"
        paths: list[Path] = []

        def jobs():
            for unit in _chunks(plans, self.unit_size):
                path = units_dir / f"unit-{self.units:06d}.arrow"
                paths.append(path)
                self.units += 1
                if path.exists():
                    self.reused += 1
                    bar.update(len(unit))
                    continue
                yield UnitJob(str(self.spec.path), self.seed, self.settings, import_path(self.cls),
                              str(templates_root()), self.units - 1, str(path), tuple(unit))

        for _, written in self.engine.run(jobs()):
            bar.update(written)
        return paths
