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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import __version__, outdir
from .added import added_plans, count_added
from .backends import Backend, BackendContext, BackendSettings, backend_class, import_path
from .card import write_card
from .checks import document_checks
from .engine import make_engine
from .errors import BuildError, UserError
from .library import load_spec_and_library
from .llm.executors import FatalAPIError
from .manifest import BuildInfo, assemble, shard_entry
from .merge import merge_units
from .paths import ensure_folder, templates_root, tree_sha256
from .plan import counts, plan_documents, surface_form_warnings
from .units import UnitJob, run_unit, write_unit
from .verify import list_files

__all__ = ["BuildError", "BuildResult", "build"]


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
                     count: int | None) -> None:
    if workers < 1:
        raise BuildError("--workers must be at least 1")
    if count is not None and count < 1:
        # An empty dataset is no dataset: datasets.load_dataset cannot open a folder without rows.
        raise BuildError(f"--count {count}: a dataset needs at least one document")
    if not cls.runs_in_workers and (workers > 1 or executor != "local"):
        raise BuildError(f"the {cls.name} backend runs requests concurrently in one process; use --concurrency, "
                         "not --workers or --executor")
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
    _refuse_unusable(cls, settings, workers, executor, count)
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

    work = outdir.start(out, {"build_key": key, "spec": str(spec.path), "seed": seed, "count": count})
    try:
        backend = cls(BackendContext(spec, library, seed, settings, work, log))
    except UserError:
        shutil.rmtree(work, ignore_errors=True)
        raise
    try:
        backend.prepare(plan_documents(spec, seed, count))
        n_fact, n_background = counts(spec, count)
        planned = n_fact + n_background + n_added

        def all_plans():
            return itertools.chain(plan_documents(spec, seed, count), added_plans(add, n_fact + n_background,
                                                                                  spec.documents.depth))

        reused = _write_units(spec, backend, cls, settings, seed, work, all_plans(), planned,
                              unit_size or cls.unit_size, workers, executor, ray_address, progress)
        manifest = _finish(spec, out, work, backend, templates_sha, key, seed, count, planned)
    except FatalAPIError as exc:
        raise BuildError(str(exc)) from None
    finally:
        backend.close()
    return BuildResult(manifest, out, units_reused=reused)


def _write_units(spec, backend, cls, settings, seed, work: Path, plans, planned: int, unit_size: int,
                 workers: int, executor: str, ray_address: str | None, progress: bool) -> int:
    """Write every unit not yet on disk; return how many were already there."""
    from tqdm import tqdm

    checks = document_checks(spec, cls.exact_phrasings)
    units_dir = work / "units"
    reused = 0
    with tqdm(total=planned, unit="doc", desc="writing", file=sys.stderr, disable=not progress or None) as bar:
        def jobs():
            nonlocal reused
            for number, unit in enumerate(_chunks(plans, unit_size)):
                path = units_dir / f"unit-{number:06d}.arrow"
                if path.exists():
                    reused += 1
                    bar.update(len(unit))
                    continue
                yield UnitJob(str(spec.path), seed, settings, import_path(cls), str(templates_root()), number,
                              str(path), tuple(unit))

        def write_here(job: UnitJob) -> None:
            write_unit(Path(job.path), run_unit(spec, backend, checks, list(job.plans)))

        try:
            engine = make_engine(executor, workers, ray_address, local=write_here)
        except RuntimeError as exc:
            raise BuildError(str(exc)) from None
        for _, written in engine.run(jobs()):
            bar.update(written)
    return reused


def _finish(spec, out: Path, work: Path, backend, templates_sha: str, key: str, seed: int, count: int | None,
            planned: int) -> dict:
    """Merge the units into shards, write manifest and card, and publish the dataset into OUT."""
    staging, shards_dir = work / "publish", work / "shards"
    for stale in (staging, shards_dir):
        if stale.exists():
            shutil.rmtree(stale)
    merged = merge_units(spec, work / "units", shards_dir, staging / "rejected", scratch=work)
    data_dir = staging / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    n = len(merged.shards)
    shard_entries = []
    for i, shard in enumerate(merged.shards):
        final = data_dir / f"train-{i:05d}-of-{n:05d}.parquet"
        os.replace(shard.path, final)
        shard_entries.append(shard_entry(f"data/{final.name}", shard))
    rejected_entries = [shard_entry(f"rejected/{r.path.name}", r) for r in merged.rejected]
    info = BuildInfo(seed, count, planned, key, templates_sha, backend.backend_manifest(), backend.usage_manifest())
    manifest = assemble(spec, merged, shard_entries, rejected_entries, info)
    write_card(staging / "README.md", spec, manifest)
    # The exact spec travels with the data, so a dataset folder (or Hub repo) can be rebuilt on its own.
    (staging / "corpus.yaml").write_bytes(spec.path.read_bytes())
    # Every published file, hashed: verify and push cover all of them, not only the shards.
    manifest["files"] = list_files(staging)
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    outdir.publish(staging, out, work)
    return manifest
