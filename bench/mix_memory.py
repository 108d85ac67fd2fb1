"""Peak RSS of a token-ratio mix whose output is about 1 GB, against one ten times smaller, each in a fresh process.

    .venv/bin/python -m bench.mix_memory [--gb 1.0] [--small-gb 0.1] [--documents 2000]

A synthetic dataset is built from the tiny test spec; the ordinary source is a local Parquet file
of synthetic-looking prose (paragraphs of sentences drawn from a fixed pool), written on the fly
in a temp folder, large enough for the ratio. `sdfgen export --mix SOURCE --ratio-by tokens`
then writes text-jsonl. Targets: the large mix's peak RSS under 500 MB, the mixed token total
within one document of the target, and the same bytes when the export is run again (checked on
the small mix).
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MB = 500
# Peak RSS from VmHWM, the high-water mark of this process's own memory: getrusage's ru_maxrss of
# a child started with vfork/exec also counts its parent's RSS at the time (here a whole build).
PROBE = (
    "import re, sys, json\n"
    "from generator.export import export\n"
    "info = export(sys.argv[1], 'text-jsonl', sys.argv[2], mix=sys.argv[3], ratio=float(sys.argv[4]),\n"
    "              ratio_by='tokens', seed=1)\n"
    "hwm = int(re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1))\n"
    "print(json.dumps({'rss_kb': hwm, 'info': info}))\n"
)
WORDS = ("harbour council ledger morning station quarterly river archive season market railway report garden "
         "meeting budget valley museum village engineer bridge festival library committee weather survey "
         "harvest tram district lecture orchard workshop ferry census quarry mill parish tenant minutes").split()


def write_source(path: Path, gigabytes: float, seed: int = 0) -> int:
    """A Parquet file of ~`gigabytes` of prose, row groups of 500 documents; returns the bytes of text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 24))).capitalize() + "."
                 for _ in range(20_000)]
    target, written, doc = int(gigabytes * 1e9), 0, 0
    schema = pa.schema([("url", pa.string()), ("text", pa.string())])
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        while written < target:
            texts = []
            for _ in range(500):
                paragraphs = [" ".join(rng.choices(sentences, k=rng.randint(2, 7))) for _ in range(rng.randint(2, 12))]
                texts.append("\n\n".join(paragraphs))
            written += sum(len(t) for t in texts)
            writer.write_table(pa.table({"url": [f"https://example.org/{doc + i}" for i in range(len(texts))],
                                         "text": texts}, schema=schema))
            doc += len(texts)
    return written


def run_mix(dataset: Path, output: Path, source: Path, ratio: float) -> dict:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PROBE, str(dataset), str(output), str(source), str(ratio)],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"mix_memory: the export failed: {done.stderr.strip().splitlines()[-1]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["seconds"] = time.perf_counter() - started
    result["peak_rss_mb"] = result.pop("rss_kb") / 1024
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gb", type=float, default=1.0, help="size of the large mix's output")
    parser.add_argument("--small-gb", type=float, default=0.1, help="size of the baseline mix's output")
    parser.add_argument("--documents", type=int, default=2000, help="synthetic documents to build")
    args = parser.parse_args(argv)
    from generator.build import build

    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="sdfgen-mixmem-") as tmp:
        tmp = Path(tmp)
        manifest = build(root / "tests/fixtures/tiny/corpus.yaml", tmp / "ds", count=args.documents, progress=False,
                         log=lambda m: None).manifest
        synthetic_tokens = manifest["totals"]["tokens"]
        source = tmp / "ordinary.parquet"
        started = time.perf_counter()
        text_bytes = write_source(source, args.gb * 1.1)
        made = time.perf_counter() - started
        per_token = _bytes_per_token(source)
        figures = {"synthetic_documents": manifest["totals"]["documents"], "synthetic_tokens": synthetic_tokens,
                   "source_text_gb": round(text_bytes / 1e9, 3), "source_seconds": round(made),
                   "source_bytes_per_token": round(per_token, 3)}
        runs = {}
        for name, gb in (("small", args.small_gb), ("large", args.gb)):
            # The output is about the ordinary text (plus JSON quoting): size the ratio from it.
            ratio = round(gb * 1e9 / per_token / synthetic_tokens, 3)
            out = tmp / f"{name}.jsonl"
            run = run_mix(tmp / "ds", out, source, ratio)
            target = run["info"]["target"]
            ordinary = run["info"]["sources"][1]
            runs[name] = {"ratio": ratio, "output_gb": round(out.stat().st_size / 1e9, 3),
                          "peak_rss_mb": round(run["peak_rss_mb"], 1), "seconds": round(run["seconds"]),
                          "ordinary_documents": ordinary["documents"], "ordinary_tokens": target["got"],
                          "wanted_tokens": target["wanted"], "token_error": target["got"] - target["wanted"],
                          "error_bound": _half_boundary_document(source, ordinary["documents"]),
                          "sha256": run["info"]["sha256"]}
            if name == "small":  # the same export again: the same bytes
                again = run_mix(tmp / "ds", tmp / "again.jsonl", source, ratio)
                runs[name]["same_bytes_again"] = again["info"]["sha256"] == run["info"]["sha256"]
                (tmp / "again.jsonl").unlink()
            out.unlink()
        figures.update(runs)
        figures["rss_ratio_large_to_small"] = round(runs["large"]["peak_rss_mb"] / runs["small"]["peak_rss_mb"], 3)
    print(json.dumps(figures, indent=2))
    large = figures["large"]
    ok = (large["peak_rss_mb"] < TARGET_MB and figures["small"]["same_bytes_again"]
          and all(abs(figures[n]["token_error"]) <= figures[n]["error_bound"] for n in ("small", "large")))
    print(f"mix_memory: peak RSS {large['peak_rss_mb']:.0f} MB for a {large['output_gb']:.2f} GB token-ratio mix "
          f"({figures['small']['peak_rss_mb']:.0f} MB at {figures['small']['output_gb']:.2f} GB, "
          f"{figures['rss_ratio_large_to_small']:.2f}x; target < {TARGET_MB} MB), token error {large['token_error']:+,} "
          f"of {large['wanted_tokens']:,} (bound: half the last or next document, {large['error_bound']:,})")
    return 0 if ok else 1


def _bytes_per_token(source: Path) -> float:
    import pyarrow.parquet as pq

    from generator.tokens import count_tokens

    texts = next(pq.ParquetFile(source).iter_batches(batch_size=500, columns=["text"])).column("text").to_pylist()
    return sum(len(t.encode()) for t in texts) / sum(count_tokens(texts))


def _half_boundary_document(source: Path, taken: int) -> float:
    """Half the larger of the last document taken and the next one: the documented bound of the token error."""
    import pyarrow.parquet as pq

    from generator.tokens import count_tokens

    seen, around = 0, []
    for batch in pq.ParquetFile(source).iter_batches(batch_size=500, columns=["text"]):
        texts = batch.column("text").to_pylist()
        around += texts[max(0, taken - 1 - seen):max(0, taken + 1 - seen)]
        seen += len(texts)
        if seen > taken:
            break
    return max(count_tokens(around)) / 2


if __name__ == "__main__":
    sys.exit(main())
