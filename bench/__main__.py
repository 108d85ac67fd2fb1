"""Run every benchmark in turn: `make bench` or `.venv/bin/python -m bench [--quick]`.

Each prints its own JSON figures and a closing line; this exits 1 if any missed its target.
"""
from __future__ import annotations

import argparse
import importlib
import sys

SUITE = [
    ("startup", []),
    ("throughput", ["--count", "20000"]),
    ("quality", ["--count", "10000"]),
    ("dedup", []),
    ("api", []),
    ("openai_api", []),
    ("memory", []),
    ("mix_memory", []),
    ("resume", []),
]
QUICK = {"throughput": ["--count", "1500"], "quality": ["--count", "2000"], "memory": ["--small", "2000", "--large", "10000"],
         "mix_memory": ["--gb", "0.2", "--small-gb", "0.02", "--documents", "500"],
         "resume": ["--count", "3000", "--kills", "3"],
         "openai_api": ["--seconds", "30"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a few minutes in all")
    parser.add_argument("only", nargs="*", help="run only these benchmarks")
    args = parser.parse_args(argv)
    failed = []
    for name, default_args in SUITE:
        if args.only and name not in args.only:
            continue
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"bench.{name}")
        code = module.main(QUICK.get(name, default_args) if args.quick else default_args)
        if code:
            failed.append(name)
    print("bench: " + ("all targets met" if not failed else f"missed: {', '.join(failed)}"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
