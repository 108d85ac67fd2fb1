"""`sdfgen --help` start time against `python -c pass`, best of several runs each, measured together."""
from __future__ import annotations

import json
import subprocess
import sys
import time


def best_of(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    runs = 7
    bare = best_of([sys.executable, "-c", "pass"], runs)
    helped = best_of([sys.executable, "-m", "generator.cli", "--help"], runs)
    ratio = helped / bare
    print(json.dumps({"python_c_pass_s": round(bare, 4), "sdfgen_help_s": round(helped, 4), "ratio": round(ratio, 2)},
                     indent=2))
    print(f"startup: sdfgen --help takes {helped * 1000:.0f} ms, {ratio:.1f}x a bare interpreter (target <= 5x)")
    return 0 if ratio <= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
