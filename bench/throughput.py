"""End-to-end offline throughput against the floor of tiktoken + pyarrow alone, and worker scaling.

    .venv/bin/python -m bench.throughput [--count 5000]

The floor takes the very texts the build wrote and only counts their tokens and writes
them to Parquet with the same settings: no generator can beat it, so the ratio says how
much of the build's time is generation and checking. Scaling compares --workers 2 with
--workers 1 on the same plan, in the same run. The stage costs (rendering, and the checks
every kept document goes through) bound what two workers could reach even with perfect
scaling and free I/O.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

SPEC = "corpora/alignment-faking-helpful-only"


def floor(out: Path) -> tuple[float, int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from generator.shards import SCHEMA
    from generator.tokens import count_tokens

    table = pq.read_table(out / "data", schema=SCHEMA)
    texts = table.column("text").to_pylist()
    count_tokens(texts[:10])  # load the encoding outside the timing
    started = time.perf_counter()
    counts = count_tokens(texts)
    rows = table.set_column(table.schema.get_field_index("n_tokens"), "n_tokens", pa.array(counts, pa.int32()))
    with tempfile.TemporaryDirectory() as tmp:
        pq.write_table(rows, Path(tmp) / "floor.parquet", compression="zstd", compression_level=3,
                       row_group_size=1000)
    return time.perf_counter() - started, sum(counts)


def stage_costs(spec_path: str, count: int) -> dict[str, float]:
    """Milliseconds a document for rendering and for the checks (units.check_unit, tokens already
    counted), measured warm in this process on the first `count` plans: the parts of the build the
    floor does not have."""
    from generator.backends import BackendContext, BackendSettings
    from generator.backends.templates import TemplatesBackend
    from generator.checks import document_checks
    from generator.library import load_spec_and_library
    from generator.plan import plan_documents
    from generator.tokens import count_tokens
    from generator.units import check_unit

    spec, library = load_spec_and_library(spec_path)
    backend = TemplatesBackend(BackendContext(spec, library, spec.seed, BackendSettings(), Path(".")))
    filters = document_checks(spec, exact_phrasings=True)
    plans = list(plan_documents(spec, spec.seed, count))
    list(backend.write(plans))  # warm: compiled templates, Faker pools
    started = time.perf_counter()
    docs = list(backend.write(plans))
    render = time.perf_counter() - started
    for doc, n in zip(docs, count_tokens([d.text for d in docs])):
        doc.n_tokens = n
    started = time.perf_counter()
    check_unit(spec, filters, plans, docs)
    checks = time.perf_counter() - started
    return {"render_ms": render / len(docs) * 1000, "checks_ms": checks / len(docs) * 1000}


def timed_build(spec: str, out: Path, count: int, workers: int) -> tuple[float, dict]:
    from generator.build import build

    started = time.perf_counter()
    manifest = build(spec, out, count=count, workers=workers, progress=False, log=lambda m: None).manifest
    return time.perf_counter() - started, manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("spec", nargs="?", default=SPEC)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--target", type=float, default=0.5, help="minimum share of the floor's tokens/s")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        one_s, manifest = timed_build(args.spec, Path(tmp) / "w1", args.count, 1)
        two_s, manifest2 = timed_build(args.spec, Path(tmp) / "w2", args.count, 2)
        floor_s, tokens = floor(Path(tmp) / "w1")
    assert manifest["fingerprint"] == manifest2["fingerprint"], "--workers 2 changed the output"
    stages = stage_costs(args.spec, min(args.count, 2000))
    floor_ms = floor_s / manifest["totals"]["documents"] * 1000
    figures = {
        "documents": manifest["totals"]["documents"], "tokens": tokens,
        "build_1_worker_tokens_per_s": round(tokens / one_s), "build_2_workers_tokens_per_s": round(tokens / two_s),
        "floor_tokens_per_s": round(tokens / floor_s),
        "ratio_to_floor_1_worker": round(floor_s / one_s, 3), "ratio_to_floor_2_workers": round(floor_s / two_s, 3),
        "worker_scaling_1_to_2": round(one_s / two_s, 3), "same_fingerprint": True,
        # Where a document's time goes, and the best ratio two workers could reach if they scaled
        # perfectly and unit files, merging and start-up cost nothing: floor / ((floor + render + checks) / 2).
        "floor_ms_per_doc": round(floor_ms, 3), "render_ms_per_doc": round(stages["render_ms"], 3),
        "checks_ms_per_doc": round(stages["checks_ms"], 3),
        "bound_2_workers": round(2 * floor_ms / (floor_ms + stages["render_ms"] + stages["checks_ms"]), 3),
    }
    print(json.dumps(figures, indent=2))
    best = max(figures["ratio_to_floor_1_worker"], figures["ratio_to_floor_2_workers"])
    ok = best >= args.target
    print(f"throughput: {best:.0%} of the tiktoken+pyarrow floor (target {args.target:.0%}); "
          f"2 workers run {figures['worker_scaling_1_to_2']:.2f}x as fast as 1" + ("" if ok else " -- BELOW TARGET"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
