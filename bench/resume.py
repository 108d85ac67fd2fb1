"""SIGKILL a build at random moments, rerun it each time, and compare with an uninterrupted build.

    .venv/bin/python -m bench.resume [--count 20000] [--kills 10]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def digest(out: Path) -> str:
    h = hashlib.sha256()
    for p in sorted((out / "data").glob("*.parquet")):
        h.update(p.read_bytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("spec", nargs="?", default="corpora/alignment-faking-helpful-only")
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill times")
    parser.add_argument("--workers", type=int, default=1, help="--workers of every build, killed or not")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        base = [sys.executable, "-m", "generator.cli", "build", args.spec, "--count", str(args.count), "-q",
                "--workers", str(args.workers)]
        started = time.monotonic()
        subprocess.run(base + ["-o", f"{tmp}/plain"], check=True, capture_output=True)
        span = time.monotonic() - started
        expected = digest(Path(tmp) / "plain")
        results = []
        for k in range(args.kills):
            out = Path(tmp) / f"killed-{k}"
            # Kill early in the first run, then again during each rerun, so resumes are interrupted too.
            for attempt in range(2):
                proc = subprocess.Popen(base + ["-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(rng.uniform(0.05, 0.95) * span * (0.5 if attempt else 1.0))
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                proc.wait()
            subprocess.run(base + ["-o", str(out)], check=True, capture_output=True)
            same = digest(out) == expected
            results.append(same)
            print(f"kill {k + 1}: {'identical' if same else 'DIFFERENT'}", file=sys.stderr)
            subprocess.run(["rm", "-rf", str(out)], check=True)
    print(json.dumps({"count": args.count, "workers": args.workers, "kills": args.kills, "identical": sum(results),
                      "uninterrupted_seconds": round(span, 1)}, indent=2))
    print(f"resume: {sum(results)}/{len(results)} interrupted builds identical to the uninterrupted one")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
