"""Where work units run: in this process, in a pool of processes, or as Ray tasks.

A unit's output is a pure function of its job (units.py), and each unit is written to its
own file atomically, so running units in parallel, out of order, or again after a crash
cannot change the bytes of the final shards: those are cut from the unit files in plan order.
"""
from __future__ import annotations

import os
from typing import Callable, Iterable, Iterator

from .units import UnitJob, run_job


class LocalEngine:
    """Units in this process and, with N > 1 workers, N - 1 spawned processes besides it.

    This process already holds the spec, the library and the backend, so letting it write units
    too saves one worker's start-up (about 1 s of imports and loading, measured) and keeps its
    core busy instead of waiting.
    """

    def __init__(self, workers: int = 1, local: Callable[[UnitJob], object] | None = None):
        self.workers = max(1, workers)
        self.local = local or run_job

    def run(self, jobs: Iterable[UnitJob], window: int | None = None) -> Iterator[tuple[int, int]]:
        if self.workers == 1:
            for job in jobs:
                self.local(job)
                yield job.number, len(job.plans)
            return
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        helpers = self.workers - 1
        # Units queued for the pool before this process takes one itself: enough that the helpers
        # never wait while this process writes a unit, few enough to bound the plans in flight.
        window = window or helpers * 2
        # spawn, not fork: the parent may hold threads (progress bar, HTTP pools) that fork would copy mid-state.
        with ProcessPoolExecutor(helpers, mp_context=mp.get_context("spawn")) as pool:
            pending: set = set()
            for job in jobs:
                if len(pending) < window:
                    pending.add(pool.submit(run_job, job))
                    continue
                self.local(job)
                yield job.number, len(job.plans)
                done, pending = wait(pending, timeout=0, return_when=FIRST_COMPLETED)
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


def ray_problem(address: str | None) -> str | None:
    """Why the ray executor cannot start, found before anything is written: Ray missing, or a cluster
    address nothing answers at (ray.init would keep retrying it for minutes)."""
    import importlib.util
    import socket

    if importlib.util.find_spec("ray") is None:
        return "the ray executor needs Ray: pip install 'sdfgen[ray]'"
    if not address or address in ("auto", "local"):
        return None
    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return f"--ray-address {address}: expected HOST:PORT (or ray://HOST:PORT, or auto)"
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        return f"--ray-address {address}: cannot reach a Ray cluster there ({exc.strerror or exc})"
    return None


def make_engine(executor: str, workers: int, address: str | None, local: Callable[[UnitJob], object] | None = None):
    """`local` writes a unit in this process (LocalEngine); Ray runs every unit as a task."""
    if executor == "ray":
        return RayEngine(address, workers if workers > 1 else None)
    return LocalEngine(workers, local)
