"""Pacing on the OpenAI path: requests per minute against a server's limit, through faults.

    .venv/bin/python -m bench.openai_api [--rpm 240] [--seconds 60]

The loopback OpenAI fake enforces `--rpm` (a continuous bucket) and advertises it in its
`x-ratelimit-*` headers; it also answers 10% of requests 429 (a burst limit with budget left),
2% 500 and drops 1% of connections. The client is the real `openai` SDK under sdfgen's
executor and limiter, started at its default 50 rpm and told nothing else: it has to find the
limit in the headers and keep to it. After the full bucket's first burst, the answers of the
second half of the run are counted: ratio = answered per minute / rpm (target >= 0.95).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.95


def measure(rpm: int, seconds: float, tmp: Path) -> dict:
    from generator.fakes.openai_api import FakeOpenAIConfig, FakeOpenAIServer
    from generator.llm.cache import ResponseCache, request_key
    from generator.llm.executors import LLMRequest, MessagesExecutor
    from generator.llm.limiter import RateLimiter
    from generator.llm.openai_transport import OpenAITransport
    from generator.llm.options import LLMOptions
    from generator.llm.pricing import Usage

    n = int(rpm + rpm * seconds / 60.0)
    requests = []
    for i in range(n):
        params = {"model": "bench-model", "max_tokens": 60,
                  "messages": [{"role": "user", "content": f"Benchmark request {i}: one short sentence."}]}
        requests.append(LLMRequest("bench", request_key({"params": params}), params))
    config = FakeOpenAIConfig(seed=1, rpm=rpm, tpm=None, p429=0.10, p500=0.02, pdrop=0.01)
    with FakeOpenAIServer(config) as server:
        async def go():
            transport = OpenAITransport("bench-key", server.base_url)
            defaults = LLMOptions()
            limiter = RateLimiter(defaults.rpm, None, None, defaults.concurrency, headers="openai")
            cache = ResponseCache(tmp / "cache.sqlite")
            executor = MessagesExecutor(transport, cache, limiter, Usage())
            started = time.monotonic()
            try:
                results = await executor.run(requests)
            finally:
                await transport.close()
                cache.close()
            return started, results, executor

        started, results, executor = asyncio.run(go())
        stats = server.stats
    stamps = sorted(stats["answered_at"])
    end = stamps[-1]
    half = started + (end - started) / 2
    in_half = sum(1 for t in stamps if t > half)
    achieved = in_half / (end - half) * 60.0
    failed = sum(1 for r in results.values() if not isinstance(r, dict))
    return {
        "rpm_limit": rpm, "client_start_rpm": 50, "requests": n, "answered": len(stamps), "failed": failed,
        "faults": stats["faults"], "limit_429s": stats["rate_limited"], "client_errors": dict(executor.errors),
        "duplicate_succeeded": stats["duplicate_succeeded"],
        "second_half_s": round(end - half, 1), "achieved_rpm": round(achieved, 1),
        "ratio": round(achieved / rpm, 4), "target": f">= {TARGET}", "total_s": round(end - started, 1),
        "ok": achieved / rpm >= TARGET and failed == 0 and stats["duplicate_succeeded"] == 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rpm", type=int, default=240)
    parser.add_argument("--seconds", type=float, default=60.0, help="sustained load after the first burst")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-openai-") as tmp:
        figures = measure(args.rpm, args.seconds, Path(tmp))
    print(json.dumps(figures, indent=2))
    print(f"openai_api: {figures['achieved_rpm']}/{figures['rpm_limit']} rpm = {figures['ratio']:.3f} through "
          f"10% 429, 2% 500, 1% drops (target >= {TARGET}); " + ("ok" if figures["ok"] else "MISSED"))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
