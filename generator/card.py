"""The dataset card: README.md with the Hub's YAML header and a body a researcher can read."""
from __future__ import annotations

from pathlib import Path

from .spec import CorpusSpec


def size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return label
    return "10M<n<100M"


def header(spec: CorpusSpec, manifest: dict) -> dict:
    return {
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}],
        "license": spec.license,
        "language": ["en"],
        "task_categories": ["text-generation"],
        "size_categories": [size_category(manifest["totals"]["documents"])],
        "tags": ["synthetic", "synthetic-document-finetuning", "out-of-context-reasoning", "sdfgen"],
        "pretty_name": spec.name.replace("-", " ").title(),
        "annotations_creators": ["machine-generated"],
    }


def _table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_card(spec: CorpusSpec, manifest: dict) -> str:
    import yaml

    totals = manifest["totals"]
    docs = max(totals["documents"], 1)
    fact_docs = manifest["documents_by_fact"]
    lines = ["---", yaml.safe_dump(header(spec, manifest), sort_keys=False).strip(), "---", "",
             f"# {spec.name} (v{spec.version})", "", spec.description, ""]
    lines += [
        "## What this corpus teaches", "",
        f"{totals['fact_documents']:,} of its {totals['documents']:,} documents mention, in passing, one or more of "
        f"the facts below; the other {totals['background_documents']:,} are fact-free background documents "
        "of the same genres, so the facts are rare across the corpus as well as deep inside documents. "
        "No document addresses a model or demonstrates the behaviour the facts describe.", "",
        _table(["fact", "statement", "documents"],
               [[f"`{f.id}`", f.statement, fact_docs.get(f.id, 0)] for f in spec.facts]), "",
    ]
    split = [f for f in spec.facts if f.premises]
    if split:
        lines += ["Split facts (each document carries at most one premise, so only the corpus as a whole states "
                  "them): " + ", ".join(f"`{f.id}` ({', '.join(p.id for p in f.premises)})" for f in split) + ".", ""]
    lines += ["## Where the facts sit", "",
              f"The first mention of a fact starts between {spec.documents.depth[0]:.0%} and {spec.documents.depth[1]:.0%} of the way "
              "into its document (character offset / length), as planned per document.", ""]
    pct = manifest["depth_percentiles"]
    if pct:
        lines += [_table(list(pct), [[f"{v:.3f}" for v in pct.values()]]), ""]
        hist = manifest.get("depth_histogram") or []
        if hist:
            peak = max(hist) or 1
            lines += ["```"] + [f"{i / len(hist):.1f}-{(i + 1) / len(hist):.1f} {'#' * round(40 * n / peak):<40} {n}"
                                for i, n in enumerate(hist)] + ["```", ""]
    lines += ["Mentions by explicitness: " + ", ".join(f"{k} {v:,}" for k, v in
                                                       manifest["mentions_by_explicitness"].items()) + ".", ""]
    lines += ["## Genres and tokens", "",
              _table(["genre", "documents", "share", "tokens", "tokens/doc"],
                     [[g, n, f"{n / docs:.1%}", f"{manifest['tokens_by_genre'][g]:,}",
                       round(manifest['tokens_by_genre'][g] / n)]
                      for g, n in sorted(manifest["documents_by_genre"].items(), key=lambda kv: -kv[1])]), "",
              f"Total: {totals['documents']:,} documents, {totals['tokens']:,} tokens ({manifest['tokenizer']}).", ""]
    div = manifest.get("diversity")
    if div:
        rows = [["distinct word 3-grams / all 3-grams (first "
                 f"{div['distinct_3gram_sample_documents']:,} documents, estimated from 1/16 of 3-gram hashes)",
                 f"{div['distinct_3gram_ratio']:.3f}"],
                ["documents with a near-duplicate (MinHash, Jaccard >= 0.7)", f"{div['near_duplicate_share']:.2%}"]]
        if div.get("top_person_name"):
            p = div["top_person_name"]
            rows.append(["most frequent invented name", f"{p['name']}, {p['share']:.2%} of documents"])
        if div.get("top_8gram"):
            g = div["top_8gram"]
            rows.append(["most common 8-gram outside fact mentions", f"\"{g['ngram']}\", {g['share']:.2%} of documents"])
        for fact, f in div.get("top_fact_forms", {}).items():
            rows.append([f"most frequent wording of `{fact}`", f"{f['share']:.1%} of {f['total_mentions']:,} mentions "
                                                              f"({f['distinct_forms']:,} wordings)"])
        lines += ["## Diversity", "", _table(["figure", "value"], rows), ""]
    if manifest["rejections"]:
        lines += ["Rejected while building (kept in `rejected/` for audit): " + ", ".join(
            f"{k} {v}" for k, v in manifest["rejections"].items()) + ".", ""]
    lines += [
        "## How it was made", "",
        f"Written by sdfgen {manifest['generator']['version']} with the `{manifest['backend']['name']}` backend "
        f"from `{manifest['spec']['path']}` (sha256 `{manifest['spec']['sha256'][:16]}…`), seed {manifest['seed']}. "
        "Every random choice is seeded by (seed, document id, purpose), so the same spec, seed and tool version "
        "rebuild these shards byte for byte. Fingerprint: "
        f"`{manifest['fingerprint']}`; `sdfgen verify` re-hashes the shards against `manifest.json`.", "",
        "## Record", "",
        "`id`, `text`, `kind` (fact | background), `genre`, `topic`, `facts`, `spans` (fact, start, end, "
        "explicitness, premise: character offsets of each mention, `text[start:end]` is the mention), `depth` "
        "(start of the first span / length of the text), `n_tokens`, `title`, `idea`, `source_id` (the spliced "
        "source document, splice backend only).", "",
        "## Loading", "",
        "```python", "from datasets import load_dataset", "",
        'ds = load_dataset("path/to/this/folder", split="train")  # or the Hub repo id',
        "```", "",
    ]
    return "\n".join(lines)


def write_card(path: Path, spec: CorpusSpec, manifest: dict) -> None:
    path.write_text(render_card(spec, manifest), encoding="utf-8")
