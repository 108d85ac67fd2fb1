"""Build a corpus at scale and print the acceptance figures of the offline backend.

    .venv/bin/python -m bench.quality [SPEC] [--count 10000]

Exit 1 when a figure misses its limit (see bench/acceptance.py).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.acceptance import check_quality
from generator.build import build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("spec", nargs="?", default="corpora/alignment-faking-helpful-only")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--out", default=None, help="keep the dataset here instead of a temp folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or Path(tmp) / "ds")
        started = time.perf_counter()
        manifest = build(args.spec, out, count=args.count, progress=True).manifest
        seconds = time.perf_counter() - started
        figures, failures = check_quality(out)
    figures["seconds"] = round(seconds, 1)
    figures["tokens_per_second"] = round(manifest["totals"]["tokens"] / seconds)
    print(json.dumps(figures, indent=2))
    for failure in failures:
        print("FAIL", failure)
    print("quality: " + ("ok" if not failures else f"{len(failures)} failure(s)"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
