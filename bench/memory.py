"""Peak RSS of a build at 10k and at 100k documents (the same spec), each in a fresh process.

    .venv/bin/python -m bench.memory [--small 10000] [--large 100000]

Target: the large build's peak within 1.5x of the small one's. What grows with the corpus
is the dedup index (about 180 bytes a kept document) and the id list; the rest is bounded.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

PROBE = (
    "import resource, sys\n"
    "from generator.build import build\n"
    "build(sys.argv[1], sys.argv[2], count=int(sys.argv[3]), progress=False, log=lambda m: None)\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
)


def peak_rss_mb(spec: str, count: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", PROBE, spec, f"{tmp}/ds", str(count)], capture_output=True,
                             text=True, check=True)
        return int(out.stdout.split()[-1]) / 1024, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("spec", nargs="?", default="corpora/alignment-faking-helpful-only")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    args = parser.parse_args(argv)
    small, small_s = peak_rss_mb(args.spec, args.small)
    large, large_s = peak_rss_mb(args.spec, args.large)
    ratio = large / small
    print(json.dumps({"small_documents": args.small, "small_peak_rss_mb": round(small, 1), "small_seconds": round(small_s),
                      "large_documents": args.large, "large_peak_rss_mb": round(large, 1), "large_seconds": round(large_s),
                      "ratio": round(ratio, 3)}, indent=2))
    print(f"memory: peak RSS {small:.0f} MB at {args.small:,} docs, {large:.0f} MB at {args.large:,} docs "
          f"({ratio:.2f}x, target <= 1.5x)")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
