"""Near-duplicate detection throughput: the project's path against a plain datasketch baseline.

    .venv/bin/python -m bench.dedup [SPEC] [--count 3000] [--out DIR] [--share 0.05] [--rounds 3]

Builds `--count` documents offline (or reuses the finished dataset in --out: a rerun of the same
build there does nothing), plants `--share` near-duplicates (copies of random documents with
`--changes` words replaced, each placed somewhere after its original), then times on the same texts,
in the same process, alternating over `--rounds` rounds (best round of each counts):

- ours: `MinHasher.signature` for every text plus `Duplicates.check` over the rows in order;
- baseline: `datasketch.MinHash(num_perm=128)` per document over the same 5-word shingles, and
  `datasketch.MinHashLSH(threshold=0.7, num_perm=128)`: query, then insert when nothing was found.

ratio = ours docs/s / baseline docs/s (target >= 0.9). Also reported: near-duplicates each found
(and how many of the planted ones), and the memory each index holds per indexed document, measured
with tracemalloc in a separate untimed pass over precomputed signatures.

Prints one JSON object on stdout and a final human line; exit 1 when the ratio misses its target.
"""
from __future__ import annotations

import argparse
import gc
import json
import random
import re
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

TARGET = 0.9
THRESHOLD = 0.7
NUM_PERM = 128
SHINGLE_WORDS = 5
_WORD = re.compile(r"[A-Za-z]{4,}")
REPLACEMENTS = ("harbour", "violet", "granite", "lantern", "orchard", "meridian", "copper", "thistle",
                "quarry", "saffron", "tundra", "marble", "juniper", "falcon", "cobalt", "willow")


def load_texts(out: Path) -> list[str]:
    import pyarrow.parquet as pq

    texts: list[str] = []
    for path in sorted((out / "data").glob("*.parquet")):
        texts += pq.read_table(path, columns=["text"]).column("text").to_pylist()
    return texts


def plant(texts: list[str], share: float, changes: int, seed: int) -> tuple[list[tuple[str, str]], set[str]]:
    """Rows (id, text) with near-duplicates planted after their originals; and the planted ids."""
    rng = random.Random(seed)
    rows = [(f"doc-{i:08d}", t) for i, t in enumerate(texts)]
    n = int(round(len(texts) * share))
    # Insert from the back so earlier positions stay valid.
    originals = sorted(rng.sample(range(len(texts)), n), reverse=True)
    planted = set()
    for k, i in enumerate(originals):
        text = texts[i]
        words = list(_WORD.finditer(text))
        picks = sorted(rng.sample(range(len(words)), min(changes, len(words))), reverse=True)
        for p in picks:
            m = words[p]
            text = text[:m.start()] + rng.choice([w for w in REPLACEMENTS if w != m.group().lower()]) + text[m.end():]
        copy_id = f"near-{k:06d}-of-{i:08d}"
        planted.add(copy_id)
        rows.insert(rng.randint(i + 1, len(rows)), (copy_id, text))
    return rows, planted


# ---------------------------------------------------------------------------------------- the two paths
def run_ours(rows, scratch: Path) -> tuple[float, set[str], dict]:
    from generator.dedup import Duplicates, MinHasher

    gc.collect()
    started = time.perf_counter()
    hasher = MinHasher(SHINGLE_WORDS, NUM_PERM)
    dup = Duplicates(hasher, THRESHOLD, scratch=scratch)
    found = set()
    for doc_id, text in rows:
        if dup.check({"id": doc_id, "text": text}, hasher.signature(text)):
            found.add(doc_id)
    seconds = time.perf_counter() - started
    counts = dict(dup.counts)
    dup.close()
    return seconds, found, counts


def baseline_minhash(text: str):
    from datasketch import MinHash

    from generator.text import words_of

    words = words_of(text)
    shingles = [" ".join(words[i:i + SHINGLE_WORDS]) for i in range(max(1, len(words) - SHINGLE_WORDS + 1))]
    m = MinHash(num_perm=NUM_PERM)
    m.update_batch([s.encode() for s in shingles])
    return m


def run_baseline(rows) -> tuple[float, set[str]]:
    from datasketch import MinHashLSH

    gc.collect()
    started = time.perf_counter()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    found = set()
    for doc_id, text in rows:
        m = baseline_minhash(text)
        if lsh.query(m):
            found.add(doc_id)
        else:
            lsh.insert(doc_id, m)
    return time.perf_counter() - started, found


# ---------------------------------------------------------------------------------------- memory
def memory(rows, scratch: Path) -> dict:
    """Bytes each index holds per indexed document (tracemalloc; signatures computed beforehand)."""
    from datasketch import MinHashLSH

    from generator.dedup import Duplicates, MinHasher

    hasher = MinHasher(SHINGLE_WORDS, NUM_PERM)
    ours_rows = [{"id": doc_id, "text": text, "minhash": hasher.signature(text)} for doc_id, text in rows]
    theirs = [(doc_id, baseline_minhash(text)) for doc_id, text in rows]

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    dup = Duplicates(hasher, THRESHOLD, scratch=scratch)
    for row in ours_rows:
        dup.check(row, row["minhash"])
    gc.collect()
    ours_traced = tracemalloc.get_traced_memory()[0] - before
    kept = len(dup.ids)
    bands_rows = [dup.lsh.bands, dup.lsh.rows]
    tables = dup.lsh.tables + [dup.texts]
    nbytes_pending = sum(t.nbytes() for t in tables)
    pending_entries = sum(t.pending_count for t in tables)
    # What the same index holds once its pending inserts are merged into the sorted arrays (a build
    # merges every MERGE_EVERY inserts per table; a bench of a few thousand documents never gets there).
    for t in tables:
        if t.pending_count:
            t._merge()
    gc.collect()
    ours_merged = tracemalloc.get_traced_memory()[0] - before
    nbytes_merged = sum(t.nbytes() for t in tables)
    store_bytes = dup.store.count * dup.store.width
    dup.close()
    del dup, tables
    gc.collect()

    before = tracemalloc.get_traced_memory()[0]
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    indexed = 0
    for doc_id, m in theirs:
        if not lsh.query(m):
            lsh.insert(doc_id, m)
            indexed += 1
    gc.collect()
    theirs_traced = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del lsh

    return {
        "ours_indexed_documents": kept,
        "ours_bands_rows": bands_rows,
        "ours_bytes_per_doc": round(ours_traced / max(kept, 1)),
        "ours_bytes_per_doc_merged": round(ours_merged / max(kept, 1)),
        "ours_keytable_nbytes_per_doc": round(nbytes_pending / max(kept, 1)),
        "ours_keytable_pending_entries": pending_entries,
        "ours_keytable_nbytes_per_doc_merged": round(nbytes_merged / max(kept, 1)),
        "ours_signature_file_bytes_per_doc": round(store_bytes / max(kept, 1)),
        "datasketch_indexed_documents": indexed,
        "datasketch_bytes_per_doc": round(theirs_traced / max(indexed, 1)),
        "method": "tracemalloc: growth of traced memory from an empty index to all rows inserted",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("spec", nargs="?", default="corpora/alignment-faking-helpful-only")
    parser.add_argument("--count", type=int, default=3000, help="documents to build")
    parser.add_argument("--out", default=None, help="build (or reuse the finished dataset) here instead of a temp folder")
    parser.add_argument("--share", type=float, default=0.05, help="near-duplicates to plant, as a share of the documents")
    parser.add_argument("--changes", type=int, default=3, help="words replaced in each planted copy")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each path (best counts)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the planting")
    args = parser.parse_args(argv)

    from generator.build import build

    with tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
        tmp = Path(tmp)
        out = Path(args.out) if args.out else tmp / "ds"
        started = time.perf_counter()
        build(args.spec, out, count=args.count, progress=False, log=lambda message: None)
        build_seconds = time.perf_counter() - started
        texts = load_texts(out)
        rows, planted = plant(texts, args.share, args.changes, args.seed)

        ours_times, base_times = [], []
        ours_found = base_found = None
        ours_counts = {}
        for _ in range(max(1, args.rounds)):
            seconds, ours_found, ours_counts = run_ours(rows, tmp)
            ours_times.append(seconds)
            seconds, base_found = run_baseline(rows)
            base_times.append(seconds)
        mem = memory(rows, tmp)

    n = len(rows)
    ours_dps, base_dps = n / min(ours_times), n / min(base_times)
    ratio = ours_dps / base_dps
    figures = {
        "documents": n,
        "built_documents": len(texts),
        "planted_near_duplicates": len(planted),
        "build_seconds": round(build_seconds, 1),
        "ours_docs_per_s": round(ours_dps, 1),
        "baseline_docs_per_s": round(base_dps, 1),
        "ours_seconds_rounds": [round(s, 3) for s in ours_times],
        "baseline_seconds_rounds": [round(s, 3) for s in base_times],
        "ours_found": len(ours_found),
        "ours_found_by_kind": ours_counts,
        "baseline_found": len(base_found),
        "ours_found_planted": len(ours_found & planted),
        "baseline_found_planted": len(base_found & planted),
        "found_by_both": len(ours_found & base_found),
        "found_only_by_ours": len(ours_found - base_found),
        "found_only_by_baseline": len(base_found - ours_found),
        "memory": mem,
        "ratio": round(ratio, 4),
        "target": f">= {TARGET}",
    }
    failures = []
    if ratio < TARGET:
        failures.append(f"ours {ours_dps:.0f} docs/s is {ratio:.3f} of the baseline's {base_dps:.0f} (< {TARGET})")
    figures["ok"] = not failures
    print(json.dumps(figures, indent=2))
    for failure in failures:
        print("FAIL", failure)
    print(f"dedup: {'ok' if not failures else 'FAIL'}; ours {ours_dps:.0f} docs/s vs datasketch {base_dps:.0f} docs/s "
          f"= {ratio:.3f} (target >= {TARGET}); near-duplicates found {len(ours_found)} vs {len(base_found)} "
          f"({len(planted)} planted); index {mem['ours_bytes_per_doc']} vs {mem['datasketch_bytes_per_doc']} bytes/doc")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
