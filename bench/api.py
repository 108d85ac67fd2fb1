"""The Messages API path through the real `anthropic` SDK against the loopback fake: throughput and caching.

    .venv/bin/python -m bench.api [--rpm 120] [--seconds 60] [--count 40] [--only throughput|caching]

a. Throughput: the fake enforces `rpm` requests per minute; MessagesExecutor with a RateLimiter of
   the same rpm sends enough small unique requests to stay busy for `--seconds` of sustained load
   after the full bucket's initial burst. ratio = completed per minute over the sustained window / rpm
   (target >= 0.90). The window starts when the client's request bucket first runs dry (or at the
   first 429, whichever comes first) and ends at the last completion.
b. Prompt caching: the same LLM build twice, once as is and once with the system block's
   `cache_control` stripped; ratio = input-token bill with caching / without (target <= 0.30).

Prints one JSON object on stdout and a final human line; exit 1 when a ratio misses its target.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

DUMMY_KEY = "sk-ant-bench-dummy-key"
THROUGHPUT_TARGET = 0.90
CACHE_TARGET = 0.30
MODEL = "claude-sonnet-5-5"


@contextlib.contextmanager
def dummy_key():
    """ANTHROPIC_API_KEY set to a dummy for the run (only the loopback fake ever sees it), then restored."""
    old = os.environ.get("ANTHROPIC_API_KEY")
    os.environ["ANTHROPIC_API_KEY"] = DUMMY_KEY
    try:
        yield DUMMY_KEY
    finally:
        if old is None:
            os.environ.pop("ANTHROPIC_API_KEY", None)
        else:
            os.environ["ANTHROPIC_API_KEY"] = old


# ---------------------------------------------------------------------------------------- throughput
def throughput(rpm: int, seconds: float, concurrency: int, tmp: Path) -> dict:
    import anthropic

    from generator.fakes.anthropic_api import FakeAnthropicServer, FakeConfig
    from generator.llm.cache import ResponseCache, request_key
    from generator.llm.executors import LLMRequest, MessagesExecutor
    from generator.llm.limiter import RateLimiter
    from generator.llm.pricing import Usage

    class TimedUsage(Usage):
        """Usage that remembers when each paid response arrived."""

        def __init__(self) -> None:
            super().__init__()
            self.stamps: list[float] = []

        def add(self, usage: dict) -> None:
            super().add(usage)
            self.stamps.append(time.monotonic())

    # The full bucket lets `rpm` requests through at once; then `seconds` of sustained load.
    n = int(rpm + rpm * seconds / 60.0)
    requests = []
    for i in range(n):
        params = {"model": MODEL, "max_tokens": 200,
                  "messages": [{"role": "user", "content": f"Benchmark request {i}: write one short sentence."}]}
        requests.append(LLMRequest("bench", request_key({"params": params, "i": i}), params))

    with FakeAnthropicServer(FakeConfig(seed=1, rpm=rpm)) as server:
        client = anthropic.AsyncAnthropic(api_key=DUMMY_KEY, base_url=server.base_url, max_retries=0,
                                          timeout=60.0)
        cache = ResponseCache(tmp / "throughput-cache.sqlite")
        usage = TimedUsage()
        limiter = RateLimiter(rpm=rpm, max_concurrency=concurrency)
        executor = MessagesExecutor(client, cache, limiter, usage)
        marks: dict[str, float] = {}
        in_flight: dict[str, int] = {}  # requests admitted before each mark and not yet answered

        async def watch() -> None:
            # The sustained window starts when the client's request bucket first runs dry,
            # or at the first 429 if that comes earlier.
            while True:
                now = time.monotonic()
                if "empty" not in marks and limiter.requests.wait_for(1, now) > 0:
                    marks["empty"], in_flight["empty"] = now, limiter.in_flight
                if "first_429" not in marks and executor.errors.get("rate_limited", 0):
                    marks["first_429"], in_flight["first_429"] = now, limiter.in_flight
                await asyncio.sleep(0.005)

        async def go() -> dict:
            watcher = asyncio.create_task(watch())
            marks["start"] = time.monotonic()
            try:
                return await executor.run(requests)
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
                await client.close()

        try:
            results = asyncio.run(go())
        finally:
            cache.close()
        stats = server.stats

    failed = sum(1 for r in results.values() if not isinstance(r, dict))
    stamps = sorted(usage.stamps)
    starter = min((m for m in ("empty", "first_429") if m in marks), key=lambda m: marks[m], default=None)
    if starter is None or not stamps:
        raise RuntimeError("the rate limit was never reached; raise --seconds or lower --rpm")
    start, end = marks[starter], stamps[-1]
    # Requests admitted after the window opened: answers after it, less those already in flight then
    # (the tail of the burst).
    in_window = sum(1 for t in stamps if t > start) - in_flight[starter]
    window = end - start
    achieved = in_window / window * 60.0 if window > 0 else 0.0
    # Cross-check: the second half of the run, measured the same way.
    half = marks["start"] + (end - marks["start"]) / 2
    in_half = sum(1 for t in stamps if t > half)
    achieved_half = in_half / (end - half) * 60.0 if end > half else 0.0
    return {
        "rpm_limit": rpm,
        "requests": n,
        "completed": len(stamps),
        "failed": failed,
        "burst_admitted": len(stamps) - in_window,
        "sustained_window_s": round(window, 2),
        "sustained_admitted": in_window,
        "achieved_rpm": round(achieved, 2),
        "achieved_rpm_second_half": round(achieved_half, 2),
        "window_started_by": "bucket_empty" if starter == "empty" else "first_429",
        "in_flight_at_window_start": in_flight[starter],
        "total_s": round(end - marks["start"], 2),
        "fake_429s": int(stats["requests"].get(429, 0)),
        "fake_rate_limited": stats["rate_limited"],
        "client_errors": dict(executor.errors),
        "sent": executor.sent,
        "ratio": round(achieved / rpm, 4),
        "target": f">= {THROUGHPUT_TARGET}",
        "ok": achieved / rpm >= THROUGHPUT_TARGET and failed == 0,
    }


# ---------------------------------------------------------------------------------------- caching
@contextlib.contextmanager
def caching_disabled():
    """Strip `cache_control` from every request the AnthropicBackend builds (the uncached baseline)."""
    from generator.backends.anthropic import AnthropicBackend
    from generator.llm.executors import LLMRequest

    original = AnthropicBackend.request

    def request(self, stage, user, sample, max_tokens):
        req = original(self, stage, user, sample, max_tokens)
        params = dict(req.params)
        params["system"] = [{k: v for k, v in block.items() if k != "cache_control"} for block in params["system"]]
        return LLMRequest(req.stage, req.key, params)

    AnthropicBackend.request = request
    try:
        yield
    finally:
        AnthropicBackend.request = original


def caching(spec: str, count: int, tmp: Path) -> dict:
    from generator.backends import BackendSettings
    from generator.build import build
    from generator.fakes.anthropic_api import FakeAnthropicServer, FakeConfig
    from generator.llm.options import LLMOptions
    from generator.llm.pricing import Usage

    runs = {}
    for name in ("cached", "uncached"):
        with FakeAnthropicServer(FakeConfig(seed=1)) as server:
            options = LLMOptions(model=MODEL, base_url=server.base_url, cache_path=str(tmp / f"{name}.sqlite"),
                                 types_per_fact=3, ideas_per_type=3, words=200, rpm=None, concurrency=16)
            started = time.perf_counter()
            with caching_disabled() if name == "uncached" else contextlib.nullcontext():
                manifest = build(spec, tmp / f"out-{name}", count=count, settings=BackendSettings("anthropic", llm=options),
                                 progress=False, log=lambda message: None).manifest
            seconds = time.perf_counter() - started
            fake_usage = server.stats["usage"]
        u = manifest["usage"]
        usage = Usage(**{k: int(u[k]) for k in ("requests", "input_tokens", "output_tokens",
                                                  "cache_creation_input_tokens", "cache_read_input_tokens")})
        runs[name] = {
            "requests": usage.requests, "input_tokens": usage.input_tokens,
            "cache_creation_input_tokens": usage.cache_creation_input_tokens,
            "cache_read_input_tokens": usage.cache_read_input_tokens,
            "documents": manifest["totals"]["documents"],
            "input_bill_usd": round(usage.input_bill(MODEL), 6),
            "input_bill_usd_per_request": round(usage.input_bill(MODEL) / max(usage.requests, 1), 8),
            "seconds": round(seconds, 1),
            "fake_agrees": all(int(fake_usage[k]) == int(u[k]) for k in
                               ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")),
            "bill": usage.input_bill(MODEL),
        }
    cached, uncached = runs["cached"].pop("bill"), runs["uncached"].pop("bill")
    ratio = cached / uncached if uncached else float("inf")
    per_request = (runs["cached"]["input_bill_usd_per_request"] / runs["uncached"]["input_bill_usd_per_request"]
                   if runs["uncached"]["input_bill_usd_per_request"] else float("inf"))
    return {
        "model": MODEL, "count": count, **runs,
        "ratio": round(ratio, 4),
        "ratio_per_request": round(per_request, 4),
        "target": f"<= {CACHE_TARGET}",
        "ok": ratio <= CACHE_TARGET and runs["cached"]["cache_read_input_tokens"] > 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("spec", nargs="?", default="corpora/alignment-faking-helpful-only",
                        help="spec for the caching measurement (its universe context must be cacheable)")
    parser.add_argument("--rpm", type=int, default=120, help="the fake's (and the limiter's) requests per minute")
    parser.add_argument("--seconds", type=float, default=60.0, help="sustained load after the initial burst")
    parser.add_argument("--concurrency", type=int, default=16, help="the limiter's maximum concurrency")
    parser.add_argument("--count", type=int, default=40, help="documents per build in the caching measurement")
    parser.add_argument("--only", choices=("throughput", "caching"), default=None)
    args = parser.parse_args(argv)

    figures: dict = {}
    failures = []
    with dummy_key(), tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        tmp = Path(tmp)
        if args.only in (None, "caching"):
            figures["caching"] = caching(args.spec, args.count, tmp)
            if not figures["caching"]["ok"]:
                failures.append(f"caching: bill ratio {figures['caching']['ratio']} > {CACHE_TARGET}")
        if args.only in (None, "throughput"):
            figures["throughput"] = throughput(args.rpm, args.seconds, args.concurrency, tmp)
            t = figures["throughput"]
            if not t["ok"]:
                failures.append(f"throughput: ratio {t['ratio']} < {THROUGHPUT_TARGET}"
                                + (f" ({t['failed']} requests failed)" if t["failed"] else ""))
    figures["ok"] = not failures
    print(json.dumps(figures, indent=2))
    for failure in failures:
        print("FAIL", failure)
    parts = []
    if "throughput" in figures:
        t = figures["throughput"]
        parts.append(f"throughput {t['achieved_rpm']:.1f}/{t['rpm_limit']} rpm = {t['ratio']:.3f} "
                     f"(target >= {THROUGHPUT_TARGET}, {t['fake_429s']} 429s)")
    if "caching" in figures:
        c = figures["caching"]
        parts.append(f"cached/uncached input bill = {c['ratio']:.3f} (target <= {CACHE_TARGET})")
    print("api: " + ("ok" if not failures else f"{len(failures)} failure(s)") + "; " + "; ".join(parts))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
