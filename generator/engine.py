"""Where work units run: in this process, in a pool of processes, or as Ray tasks.

A unit's output is a pure function of (spec, seed, backend, its plans), and each unit is
written to its own file atomically, so running units in parallel, out of order, or again
after a crash cannot change the bytes of the final shards: those are cut from the unit
files in plan order.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator


@dataclass(frozen=True)
class UnitJob:
    """Everything a worker needs to rebuild the backend and write one unit."""

    spec_path: str
    seed: int
    backend: str
    source: str | None
    templates: str
    number: int
    path: str
    plans: tuple


_WORKER_CACHE: dict[tuple, tuple] = {}


def _context(job: UnitJob):
    key = (job.spec_path, job.seed, job.backend, job.source, job.templates)
    if key not in _WORKER_CACHE:
        os.environ["SDFGEN_TEMPLATES"] = job.templates
        from .build import load_for_build, make_backend
        from .filters import document_filters

        spec, library = load_for_build(job.spec_path)
        backend = make_backend(job.backend, spec, library, job.seed, Path(job.path).parent, None, lambda m: None,
                               Path(job.source) if job.source else None)
        filters = document_filters(spec, exact_phrasings=job.backend in ("templates", "splice"))
        _WORKER_CACHE.clear()
        _WORKER_CACHE[key] = (spec, backend, filters)
    return _WORKER_CACHE[key]


def run_job(job: UnitJob) -> tuple[int, int]:
    """Write one unit file; return (unit number, plans written)."""
    from .build import _write_unit, run_unit

    spec, backend, filters = _context(job)
    _write_unit(Path(job.path), run_unit(spec, backend, filters, list(job.plans)))
    return job.number, len(job.plans)


class LocalEngine:
    def __init__(self, workers: int = 1):
        self.workers = max(1, workers)

    def run(self, jobs: Iterable[UnitJob], window: int | None = None) -> Iterator[tuple[int, int]]:
        if self.workers == 1:
            for job in jobs:
                yield run_job(job)
            return
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        # spawn, not fork: the parent may hold threads (progress bar, HTTP pools) that fork would copy mid-state.
        window = window or self.workers * 2  # bounded: plans of at most this many units are in flight
        with ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn")) as pool:
            pending = set()
            for job in jobs:
                pending.add(pool.submit(run_job, job))
                if len(pending) >= window:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield future.result()
            for future in pending:
                yield future.result()


class RayEngine:
    """The same jobs as Ray tasks: `ray.init(address=...)` joins an existing cluster; None starts a local one."""

    def __init__(self, address: str | None = None, workers: int | None = None):
        try:
            import ray
        except ImportError:
            raise RuntimeError("the ray executor needs Ray: pip install 'sdfgen[ray]'") from None
        self.ray = ray
        if not ray.is_initialized():
            kwargs = {"address": address} if address else {"num_cpus": workers or os.cpu_count(),
                                                            "include_dashboard": False}
            ray.init(ignore_reinit_error=True, log_to_driver=False, **kwargs)
        self.remote = ray.remote(run_job)
        self.window = max(2, 2 * int(ray.available_resources().get("CPU", 1)))

    def run(self, jobs: Iterable[UnitJob], window: int | None = None) -> Iterator[tuple[int, int]]:
        window = window or self.window
        pending = []
        for job in jobs:
            pending.append(self.remote.remote(job))
            if len(pending) >= window:
                done, pending = self.ray.wait(pending, num_returns=1)
                yield from self.ray.get(done)
        while pending:
            done, pending = self.ray.wait(pending, num_returns=1)
            yield from self.ray.get(done)


def make_engine(executor: str, workers: int, address: str | None):
    if executor == "ray":
        return RayEngine(address, workers if workers > 1 else None)
    return LocalEngine(workers)
