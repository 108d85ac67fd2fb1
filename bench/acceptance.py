"""Corpus-level acceptance checks: the figures a researcher asks of a build, and the project's limits for them."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from generator import leaks

# Leaks that betray a generator or a transcript, as opposed to the spec's own leak phrases.
LEFTOVER_REASONS = ("leak_transcript", "leak_scratchpad", "leftover_markup")

LIMITS = {
    "min_genres": 30,
    "min_genre_share": 0.01,
    "max_near_duplicate_share": 0.01,
    "max_person_name_share": 0.005,
    "max_fact_form_share": 0.05,
    "max_8gram_share": 0.05,
    "min_fact_docs_naming_universe": 0.80,
    "max_realism_rejection_share": 0.01,
    "max_unit_share": 0.05,
}


def check_quality(out: Path | str, limits: dict | None = None) -> tuple[dict, list[str]]:
    """Return (figures, failures) for the dataset in `out`."""
    import pyarrow.parquet as pq

    limits = {**LIMITS, **(limits or {})}
    out = Path(out)
    manifest = json.loads((out / "manifest.json").read_text())
    lo, hi = manifest["depth_range"]
    depth_violations = 0
    premise_clashes = 0
    leftovers: Counter[str] = Counter()
    seams: Counter[str] = Counter()
    docs = 0
    for shard in sorted((out / "data").glob("*.parquet")):
        table = pq.read_table(shard, columns=["id", "text", "spans", "depth", "kind"])
        for row in table.to_pylist():
            docs += 1
            if row["kind"] == "fact" and not lo - 1e-6 <= row["depth"] <= hi + 1e-6:
                depth_violations += 1
            reason = leaks.first_leak(row["text"])
            if reason in LEFTOVER_REASONS:
                leftovers[reason] += 1
            seams.update(name for name, pattern in leaks.SEAMS if pattern.search(row["text"]))
            premises = Counter(s["fact"] for s in row["spans"] if s["premise"])
            if any(n > 1 for n in premises.values()):
                premise_clashes += 1
            facts_with_premise = set(premises)
            if any(s["fact"] in facts_with_premise and not s["premise"] for s in row["spans"]):
                premise_clashes += 1
    pct = manifest["depth_percentiles"] or {}
    by_genre = manifest["documents_by_genre"]
    d = manifest["diversity"]
    figures = {
        "documents": docs,
        "genres": len(by_genre),
        "smallest_genre_share": round(min(by_genre.values()) / max(docs, 1), 4) if by_genre else 0,
        "near_duplicate_share": d["near_duplicate_share"],
        "top_person_name": d["top_person_name"],
        "top_fact_form_share": max((f["share"] for f in d["top_fact_forms"].values()), default=0),
        "top_fact_forms": {k: v["share"] for k, v in d["top_fact_forms"].items()},
        "top_8gram": d["top_8gram"],
        "distinct_3gram_ratio": d["distinct_3gram_ratio"],
        "depth_percentiles": pct,
        "depth_range": [lo, hi],
        "depth_violations": depth_violations,
        "premise_clashes": premise_clashes,
        "documents_with_leftovers": sum(leftovers.values()),
        "leftover_examples": dict(leftovers.most_common(5)),
        "rejections": manifest["rejections"],
        "tokens": manifest["totals"]["tokens"],
        "realism": manifest["realism"],
        # Every seam pattern, re-scanned over the published text (the build rejects the surest of them).
        "published_documents_with_seams": dict(seams),
    }
    failures = []
    if figures["genres"] < limits["min_genres"]:
        failures.append(f"{figures['genres']} genres < {limits['min_genres']}")
    if figures["smallest_genre_share"] < limits["min_genre_share"]:
        failures.append(f"smallest genre share {figures['smallest_genre_share']:.2%}")
    if figures["near_duplicate_share"] >= limits["max_near_duplicate_share"]:
        failures.append(f"near-duplicate share {figures['near_duplicate_share']:.2%}")
    if d["top_person_name"] and d["top_person_name"]["share"] > limits["max_person_name_share"]:
        failures.append(f"name {d['top_person_name']['name']} in {d['top_person_name']['share']:.2%} of documents")
    if figures["top_fact_form_share"] > limits["max_fact_form_share"]:
        failures.append(f"a fact surface form carries {figures['top_fact_form_share']:.2%} of its fact's mentions")
    if d["top_8gram"] and d["top_8gram"]["share"] > limits["max_8gram_share"]:
        failures.append(f"8-gram {d['top_8gram']['ngram']!r} in {d['top_8gram']['share']:.2%} of documents")
    if depth_violations:
        failures.append(f"{depth_violations} first mentions lie outside the depth range")
    if premise_clashes:
        failures.append(f"{premise_clashes} documents carry more than one premise of a split fact")
    if leftovers:
        failures.append(f"{sum(leftovers.values())} documents with transcript shapes or markup: {dict(leftovers)}")
    r = manifest["realism"]
    if r["fact_documents_naming_the_universe"] < limits["min_fact_docs_naming_universe"]:
        failures.append(f"only {r['fact_documents_naming_the_universe']:.1%} of fact documents name the universe "
                        "outside their mentions")
    defects = sum(r["defects_rejected"].values())
    if defects > limits["max_realism_rejection_share"] * manifest["totals"]["planned"]:
        failures.append(f"{defects} documents rejected for reader-visible defects: {r['defects_rejected']}")
    top = r.get("most_repeated_unit")
    if top and top["share"] > limits["max_unit_share"]:
        failures.append(f"unit {top['unit']} in {top['share']:.2%} of documents")
    for name in ("doubled_word", "run_together", "agreement"):
        if seams.get(name):
            failures.append(f"{seams[name]} published documents with the seam {name}")
    return figures, failures
