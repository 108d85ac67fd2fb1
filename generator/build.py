"""A build, as the README's flow diagram draws it:

    spec -> plans -> backend -> checks -> work units -> merge (dedup) -> shards -> manifest, card -> publish

Each arrow is a module; this one only connects them. Work units are written atomically, so a
rerun of the same command after an interruption skips the finished ones, and shards are cut
from the units in plan order: the result is byte-identical however often the build was stopped.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import __version__, outdir
from .added import added_plans, count_added
from .backends import Backend, BackendContext, BackendSettings, backend_class, import_path
from .card import write_card
from .checks import document_checks
from .engine import make_engine, ray_problem
from .errors import BuildError, UserError
from .library import load_spec_and_library
from .llm.executors import FatalAPIError
from .manifest import BuildInfo, assemble, shard_entry
from .merge import Merged, Merger
from .paths import ensure_folder, templates_root, tree_sha256
from .plan import counts, doc_index, plan_documents, replacement_plans, surface_form_warnings
from .summary import build_estimate, cost_estimate, summarise_plans
from .units import UnitJob, run_unit, write_unit
from .listing import list_files

__all__ = ["BuildError", "BuildResult", "build"]

# Replacement rounds after the first plans: each plans one document for every one the round before
# did not keep. Rounds shrink geometrically with the rejection rate; the bounds stop a spec whose
# filters reject nearly everything from running (and, with a model, spending) for ever: at most 20
# rounds, at most as many replacements as first plans, and no further round after one that kept
# none of at least 8 plans.
MAX_REPLACEMENT_ROUNDS = 20
MAX_REPLACEMENT_SHARE = 1.0
NO_PROGRESS_EVIDENCE = 8


@dataclass
class BuildResult:
    manifest: dict
    out: Path
    skipped: bool = False
    units_reused: int = 0
    notes: list[str] = field(default_factory=list)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def build_key(spec, seed: int, total: int | None, backend: object, templates_sha: str) -> str:
    payload = {"spec": spec.sha256, "seed": seed, "total": total, "backend": backend,
               "templates": templates_sha, "generator": __version__}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _chunks(plans, size: int):
    while chunk := list(itertools.islice(plans, size)):
        yield chunk


def _refuse_unusable(cls: type[Backend], settings: BackendSettings, workers: int, executor: str,
                     count: int | None, ray_address: str | None = None) -> None:
    if workers < 1:
        raise BuildError("--workers must be at least 1")
    if count is not None and count < 1:
        # An empty dataset is no dataset: datasets.load_dataset cannot open a folder without rows.
        raise BuildError(f"--count {count}: a dataset needs at least one document")
    if not cls.runs_in_workers and (workers > 1 or executor != "local"):
        raise BuildError(f"the {cls.name} backend runs requests concurrently in one process; use --concurrency, "
                         "not --workers or --executor")
    if executor == "ray":
        problem = ray_problem(ray_address)
        if problem:
            raise BuildError(problem)
    if settings.source is not None and not cls.takes_source:
        raise BuildError(f"--source is for backends that splice into your documents, not {cls.name}")
    cls.check_settings(settings)


def build(spec_path: str | Path, out: str | Path, seed: int | None = None, count: int | None = None,
          force: bool = False, progress: bool = True, log: Callable[[str], None] = _stderr,
          settings: BackendSettings | None = None, add: list | None = None, workers: int = 1,
          executor: str = "local", ray_address: str | None = None, unit_size: int | None = None) -> BuildResult:
    """Build SPEC into OUT. `unit_size` overrides the backend's plans per work unit (it never changes the bytes)."""
    settings = settings or BackendSettings()
    spec, library = load_spec_and_library(spec_path)
    cls = backend_class(settings.name)
    _refuse_unusable(cls, settings, workers, executor, count, ray_address)
    counts(spec, count)  # refuses a count that gives no document, before anything is written
    seed = spec.seed if seed is None else seed
    out = Path(out)
    templates_sha = tree_sha256(templates_root(), cls.template_patterns)
    add = [Path(p) for p in (add or [])]
    n_added = count_added(add, spec)
    identity = cls.identity(settings)
    if add:
        identity = {"backend": identity, "added": [hashlib.sha256(p.read_bytes()).hexdigest() for p in add]}
    key = build_key(spec, seed, count, identity, templates_sha)
    ensure_folder(out)  # a path under a file or without permission fails here, before anything is written
    mode = outdir.prepare(out, key, force, log)
    if cls.exact_phrasings:
        for warning in surface_form_warnings(spec):
            log(f"warning: {warning}")
    if mode == "done":
        return BuildResult(json.loads((out / "manifest.json").read_text()), out, skipped=True)
    if progress:
        expected = summarise_plans(spec, library, seed, count)
        expected["cost_estimate"] = cost_estimate(spec, cls, settings, expected)
        log(build_estimate(expected, n_added))

    work = outdir.start(out, {"build_key": key, "spec": str(spec.path), "seed": seed, "count": count})
    try:
        backend = cls(BackendContext(spec, library, seed, settings, work, log))
    except UserError:
        shutil.rmtree(work, ignore_errors=True)
        raise
    try:
        run = Rounds(spec, backend, cls, settings, seed, work, count, add, n_added, unit_size or cls.unit_size,
                     progress, log)
        run.start_engine(executor, workers, ray_address)
        merged, replacements = run.all()
        if not merged.stats.documents:
            reasons = ", ".join(f"{r} {n}" for r, n in merged.rejections.most_common())
            raise BuildError(f"{out}: no document was kept ({reasons}); nothing to publish. The rejected documents "
                             f"are in {work / 'publish' / 'rejected'}; loosen the spec's filters")
        info = BuildInfo(seed, count, run.planned, key, templates_sha, backend.backend_manifest(),
                         backend.usage_manifest(), replacements)
        manifest = _finish(spec, out, work, merged, info)
    except FatalAPIError as exc:
        raise BuildError(str(exc)) from None
    finally:
        backend.close()
    return BuildResult(manifest, out, units_reused=run.reused)


class Rounds:
    """The plans of a build, written as work units and merged, round after round.

    Round 0 holds the plans of every document to keep (and the --add documents). Each later round
    plans one replacement, with the next ids, for every generated plan the previous round did not
    keep, until all are kept, a round keeps none, or MAX_REPLACEMENT_ROUNDS is reached. A round's
    plans depend only on what earlier rounds kept, which depends only on the spec and seed: the
    same units, the same bytes, for any worker count and after any interruption.
    """

    def __init__(self, spec, backend, cls, settings, seed: int, work: Path, count: int | None, add: list[Path],
                 n_added: int, unit_size: int, progress: bool, log):
        self.spec, self.backend, self.cls, self.settings, self.seed = spec, backend, cls, settings, seed
        self.work, self.count, self.add, self.n_added = work, count, add, n_added
        self.unit_size, self.progress, self.log = unit_size, progress, log
        self.checks = document_checks(spec, cls.exact_phrasings)
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

    def all(self) -> tuple:
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


def _finish(spec, out: Path, work: Path, merged: Merged, info: BuildInfo) -> dict:
    """Name the shards, write manifest and card, and publish the dataset into OUT."""
    staging = work / "publish"
    data_dir = staging / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    n = len(merged.shards)
    shard_entries = []
    for i, shard in enumerate(merged.shards):
        final = data_dir / f"train-{i:05d}-of-{n:05d}.parquet"
        os.replace(shard.path, final)
        shard_entries.append(shard_entry(f"data/{final.name}", shard))
    rejected_entries = [shard_entry(f"rejected/{r.path.name}", r) for r in merged.rejected]
    manifest = assemble(spec, merged, shard_entries, rejected_entries, info)
    write_card(staging / "README.md", spec, manifest, merged.example)
    # The exact spec travels with the data, so a dataset folder (or Hub repo) can be rebuilt on its own.
    (staging / "corpus.yaml").write_bytes(spec.path.read_bytes())
    # Every published file, hashed: verify and push cover all of them, not only the shards.
    manifest["files"] = list_files(staging)
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    outdir.publish(staging, out, work)
    return manifest
