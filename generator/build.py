"""A build, as the README's flow diagram draws it:

    spec -> plans -> backend -> checks -> work units -> merge (dedup) -> shards -> manifest, card -> publish

Each arrow is a module; this one only connects them (rounds.py runs the plans, replacements
included, through the backend, the checks, the work units and the merge). Work units are written atomically, so a
rerun of the same command after an interruption skips the finished ones, and shards are cut
from the units in plan order: the result is byte-identical however often the build was stopped.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import __version__, outdir
from .added import count_added
from .backends import Backend, BackendContext, BackendSettings, backend_class
from .card import write_card
from .engine import ray_problem
from .errors import BuildError, ServiceError, UserError
from .library import load_spec_and_library
from .listing import list_files
from .llm.executors import APIUnreachable, FatalAPIError
from .manifest import BuildInfo, assemble, shard_entry
from .merge import Merged
from .paths import ensure_folder, templates_root, tree_sha256
from .plan import check_form_shares, counts
from .rounds import Rounds
from .summary import build_estimate, cost_estimate, summarise_plans

__all__ = ["BuildError", "BuildResult", "build"]



@dataclass
class BuildResult:
    manifest: dict
    out: Path
    skipped: bool = False
    units_reused: int = 0
    notes: list[str] = field(default_factory=list)
    api_errors: str | None = None  # one line about the API errors of the build, if any


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def build_key(spec, seed: int, total: int | None, backend: object, templates_sha: str) -> str:
    payload = {"spec": spec.sha256, "seed": seed, "total": total, "backend": backend,
               "templates": templates_sha, "generator": __version__}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


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
    settings = cls.settle(settings)
    _refuse_unusable(cls, settings, workers, executor, count, ray_address)
    counts(spec, count)  # refuses a count that gives no document, before anything is written
    settings = cls.pin(settings)
    seed = spec.seed if seed is None else seed
    out = Path(out)
    templates_sha = tree_sha256(templates_root(), cls.template_patterns)
    add = [Path(p) for p in (add or [])]
    n_added = count_added(add, spec)
    identity = cls.identity(settings)
    if add:
        identity = {"backend": identity, "added": [hashlib.sha256(p.read_bytes()).hexdigest() for p in add]}
    key = build_key(spec, seed, count, identity, templates_sha)
    if cls.exact_phrasings:
        check_form_shares(spec)  # an error before anything is written
    ensure_folder(out)  # a path under a file or without permission fails here, before anything is written
    mode = outdir.prepare(out, key, force, log)
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
    except APIUnreachable as exc:
        raise ServiceError(str(exc)) from None
    except FatalAPIError as exc:
        raise BuildError(str(exc)) from None
    finally:
        summary = getattr(backend, "api_error_summary", lambda: None)()
        backend.close()
    return BuildResult(manifest, out, units_reused=run.reused, api_errors=summary)


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
