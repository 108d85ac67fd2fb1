"""`sdfgen stats`: what a built corpus is, as tables, JSON and PNG figures."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from .listing import record_files
from .paths import ensure_folder

FIGURES = {
    "depth": "depth.png",
    "tokens_by_genre": "tokens_by_genre.png",
    "documents_by_fact": "documents_by_fact.png",
    "rejections": "rejections.png",
}


def collect(out: Path, manifest: dict) -> dict:
    """The manifest's figures and one pass over the shards (dataset.open_dataset checked them first)."""
    from .dataset import rows

    out = Path(out)
    depths, tokens = [], []
    by_explicitness: Counter[str] = Counter()
    docs_by_explicitness: Counter[str] = Counter()
    tokens_by_kind: Counter[str] = Counter()
    docs_by_kind: Counter[str] = Counter()
    for row in rows(out, manifest, ["kind", "depth", "n_tokens", "spans"]):
        tokens.append(row["n_tokens"])
        docs_by_kind[row["kind"]] += 1
        tokens_by_kind[row["kind"]] += row["n_tokens"]
        if row["depth"] is not None:
            depths.append(row["depth"])
        levels = {s["explicitness"] for s in row["spans"]}
        by_explicitness.update(s["explicitness"] for s in row["spans"])
        docs_by_explicitness.update(levels)
    tokens_arr = np.array(tokens or [0])
    depth_arr = np.array(depths) if depths else None
    pct = (5, 25, 50, 75, 95)
    return {
        "name": manifest["name"], "version": manifest["version"], "fingerprint": manifest["fingerprint"],
        "documents": manifest["totals"]["documents"], "tokens": manifest["totals"]["tokens"],
        "by_kind": {k: {"documents": docs_by_kind[k], "tokens": tokens_by_kind[k]} for k in sorted(docs_by_kind)},
        "by_genre": {g: {"documents": n, "tokens": manifest["tokens_by_genre"].get(g, 0)}
                     for g, n in sorted(manifest["documents_by_genre"].items(), key=lambda kv: -kv[1])},
        "by_fact": manifest["documents_by_fact"],
        "by_explicitness": {k: {"mentions": by_explicitness[k], "documents": docs_by_explicitness[k]}
                            for k in sorted(by_explicitness)},
        "depth": None if depth_arr is None else {
            "range": manifest.get("depth_range"), "mean": round(float(depth_arr.mean()), 4),
            **{f"p{p}": round(float(np.percentile(depth_arr, p)), 4) for p in (0, *pct, 100)}},
        "lengths": {"mean": round(float(tokens_arr.mean()), 1),
                    **{f"p{p}": int(np.percentile(tokens_arr, p)) for p in (0, *pct, 100)}},
        "diversity": manifest.get("diversity"),
        "rejections": manifest["rejections"],
        "planned": manifest["totals"]["planned"],
        "usage": manifest["usage"],
        "_depths": depths,
    }


def render_text(stats: dict) -> str:
    lines = [f"{stats['name']} v{stats['version']}  {stats['documents']:,} documents  {stats['tokens']:,} tokens",
             f"fingerprint {stats['fingerprint']}", ""]

    def table(title, header, rows):
        lines.append(title)
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
        lines.append("  " + "  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
        for row in rows:
            lines.append("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
        lines.append("")

    docs = max(stats["documents"], 1)
    table("by kind", ["kind", "documents", "tokens"],
          [[k, f"{v['documents']:,}", f"{v['tokens']:,}"] for k, v in stats["by_kind"].items()])
    table("by genre", ["genre", "documents", "share", "tokens", "tokens/doc"],
          [[g, f"{v['documents']:,}", f"{v['documents'] / docs:.1%}", f"{v['tokens']:,}",
            round(v["tokens"] / max(v["documents"], 1))] for g, v in stats["by_genre"].items()])
    table("by fact", ["fact", "documents"], [[f, f"{n:,}"] for f, n in stats["by_fact"].items()])
    table("by explicitness", ["level", "mentions", "documents"],
          [[k, f"{v['mentions']:,}", f"{v['documents']:,}"] for k, v in stats["by_explicitness"].items()])
    if stats["depth"]:
        d = stats["depth"]
        table("depth of the first mention", list(k for k in d if k != "range"),
              [[v for k, v in d.items() if k != "range"]])
    table("length in tokens", list(stats["lengths"]), [list(stats["lengths"].values())])
    div = stats.get("diversity") or {}
    if div:
        rows = [["distinct 3-gram ratio", div["distinct_3gram_ratio"]],
                ["near-duplicate share", f"{div['near_duplicate_share']:.2%}"]]
        if div.get("top_person_name"):
            rows.append(["top invented name", f"{div['top_person_name']['name']} ({div['top_person_name']['share']:.2%})"])
        if div.get("top_8gram"):
            rows.append(["top 8-gram", f"\"{div['top_8gram']['ngram']}\" ({div['top_8gram']['share']:.2%})"])
        for fact, f in div.get("top_fact_forms", {}).items():
            rows.append([f"top form of {fact}", f"{f['share']:.1%} of {f['total_mentions']} mentions"])
        table("diversity", ["figure", "value"], rows)
    rejected = sum(stats["rejections"].values())
    table(f"rejections ({rejected:,} of {stats['planned']:,} planned)", ["reason", "documents"],
          [[r, f"{n:,}"] for r, n in sorted(stats["rejections"].items(), key=lambda kv: -kv[1])] or [["none", 0]])
    return "\n".join(lines).rstrip() + "\n"


def write_plots(stats: dict, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = ensure_folder(folder)
    written = []

    def save(fig, name):
        path = folder / FIGURES[name]
        fig.tight_layout()
        fig.savefig(path, dpi=110, metadata={"Software": None})
        plt.close(fig)
        written.append(path)

    fig, ax = plt.subplots(figsize=(7, 3.6))
    if stats["_depths"]:
        ax.hist(stats["_depths"], bins=40, range=(0, 1), color="#3b6ea8", edgecolor="white")
        lo, hi = (stats["depth"] or {}).get("range") or (None, None)
        if lo is not None:
            ax.axvspan(0, lo, color="#ddd", alpha=0.6, label="outside the planned range")
            ax.axvspan(hi, 1, color="#ddd", alpha=0.6)
            ax.legend(loc="upper right", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no fact documents", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlim(0, 1)
    ax.set_xlabel("depth of the first fact mention (fraction of the document)")
    ax.set_ylabel("documents")
    ax.set_title(f"{stats['name']}: where the facts sit")
    save(fig, "depth")

    genres = list(stats["by_genre"].items())
    fig, ax = plt.subplots(figsize=(7, max(3, 0.22 * len(genres) + 1)))
    ax.barh([g for g, _ in genres][::-1], [v["tokens"] for _, v in genres][::-1], color="#4c9a6a")
    ax.set_xlabel("tokens (cl100k_base)")
    ax.set_title("tokens by genre")
    ax.tick_params(axis="y", labelsize=7)
    save(fig, "tokens_by_genre")

    facts = list(stats["by_fact"].items())
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.4 * len(facts) + 1)))
    ax.barh([f for f, _ in facts][::-1], [n for _, n in facts][::-1], color="#c27c2c")
    ax.set_xlabel("documents")
    ax.set_title("documents by fact")
    save(fig, "documents_by_fact")

    reasons = sorted(stats["rejections"].items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.35 * len(reasons) + 1)))
    if reasons:
        ax.barh([r for r, _ in reasons], [n for _, n in reasons], color="#b04a4a")
        ax.set_xlabel("documents rejected")
    else:
        ax.text(0.5, 0.5, "no document was rejected", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    ax.set_title(f"rejections by reason ({sum(n for _, n in reasons):,} of {stats['planned']:,} planned)")
    save(fig, "rejections")
    return written


def embed_in_card(out: Path, plots: list[Path]) -> bool:
    """Add a Figures section to OUT/README.md when the plots live inside OUT."""
    card = Path(out) / "README.md"
    try:
        rel = [p.resolve().relative_to(Path(out).resolve()) for p in plots]
    except ValueError:
        return False
    text = card.read_text(encoding="utf-8")
    marker = "\n## Figures\n"
    if marker in text:
        text = text[: text.index(marker)].rstrip() + "\n"
    titles = ["Depth of the first mention", "Tokens by genre", "Documents by fact", "Rejections by reason"]
    section = [marker.strip(), ""] + [f"![{t}]({r.as_posix()})" for t, r in zip(titles, rel)] + [""]
    card.write_text(text.rstrip() + "\n\n" + "\n".join(section), encoding="utf-8")
    # The plots and the changed card are part of the dataset now: verify and push must cover them.
    record_files(Path(out), ["README.md", *(r.as_posix() for r in rel)])
    return True
