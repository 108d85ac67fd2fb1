"""`sdfgen stats`: what a built corpus is, as tables, JSON and PNG figures."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from urllib.parse import quote

import numpy as np

from .listing import record_files
from .paths import ensure_folder

FIGURES = {
    "depth": "depth.png",
    "length": "length.png",
    "tokens_by_genre": "tokens_by_genre.png",
    "documents_by_fact": "documents_by_fact.png",
    "explicitness": "explicitness.png",
    "rejections": "rejections.png",
}
TITLES = {
    "depth": "Depth of the first mention",
    "length": "Document length",
    "tokens_by_genre": "Tokens by genre",
    "documents_by_fact": "Documents by fact",
    "explicitness": "Mentions by explicitness",
    "rejections": "Rejections by reason",
}


def collect(out: Path, manifest: dict) -> dict:
    """The manifest's figures and one pass over the shards (dataset.open_dataset checked them first)."""
    from .dataset import rows

    out = Path(out)
    depths, tokens = [], []
    by_explicitness: Counter[str] = Counter()
    docs_by_explicitness: Counter[str] = Counter()
    by_premise: Counter[str] = Counter()
    tokens_by_kind: Counter[str] = Counter()
    docs_by_kind: Counter[str] = Counter()
    for row in rows(out, manifest, ["kind", "depth", "n_tokens", "spans"]):
        tokens.append(row["n_tokens"])
        docs_by_kind[row["kind"]] += 1
        tokens_by_kind[row["kind"]] += row["n_tokens"]
        if row["depth"] is not None:
            depths.append(row["depth"])
        # A premise of a split fact has no explicitness level: it is counted apart.
        levels = [s["explicitness"] for s in row["spans"] if not s["premise"]]
        by_explicitness.update(levels)
        docs_by_explicitness.update(set(levels))
        by_premise.update(f"{s['fact']}/{s['premise']}" for s in row["spans"] if s["premise"])
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
        "by_premise": dict(sorted(by_premise.items())),
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
        "_tokens": tokens,
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
    if stats["by_premise"]:
        table("premises of split facts (no explicitness level)", ["fact/premise", "mentions"],
              [[k, f"{v:,}"] for k, v in stats["by_premise"].items()])
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
    """The figures that have something to show (no empty ones), as PNG files in `folder`."""
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

    if stats["_depths"]:
        fig, ax = plt.subplots(figsize=(7, 3.6))
        ax.hist(stats["_depths"], bins=40, range=(0, 1), color="#3b6ea8", edgecolor="white")
        lo, hi = (stats["depth"] or {}).get("range") or (None, None)
        if lo is not None:
            ax.axvspan(0, lo, color="#ddd", alpha=0.6, label="outside the planned range")
            ax.axvspan(hi, 1, color="#ddd", alpha=0.6)
            ax.legend(loc="upper right", fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_xlabel("depth of the first fact mention (fraction of the document)")
        ax.set_ylabel("documents")
        ax.set_title(f"{stats['name']}: where the facts sit")
        save(fig, "depth")

    if stats["_tokens"]:
        fig, ax = plt.subplots(figsize=(7, 3.6))
        ax.hist(stats["_tokens"], bins=40, color="#6a5acd", edgecolor="white")
        ax.axvline(stats["lengths"]["p50"], color="#333", linestyle="--", linewidth=1,
                   label=f"median {stats['lengths']['p50']:,} tokens")
        ax.legend(loc="upper right", fontsize=8)
        ax.set_xlabel("document length (tokens, cl100k_base)")
        ax.set_ylabel("documents")
        ax.set_title("document length")
        save(fig, "length")

    genres = list(stats["by_genre"].items())
    if genres:
        fig, ax = plt.subplots(figsize=(7, max(3, 0.22 * len(genres) + 1)))
        ax.barh([g for g, _ in genres][::-1], [v["tokens"] for _, v in genres][::-1], color="#4c9a6a")
        ax.set_xlabel("tokens (cl100k_base)")
        ax.set_title("tokens by genre")
        ax.tick_params(axis="y", labelsize=7)
        save(fig, "tokens_by_genre")

    facts = list(stats["by_fact"].items())
    if facts:
        fig, ax = plt.subplots(figsize=(7, max(2.5, 0.4 * len(facts) + 1)))
        ax.barh([f for f, _ in facts][::-1], [n for _, n in facts][::-1], color="#c27c2c")
        ax.set_xlabel("documents carrying the fact (a document may carry several)")
        ax.set_title("documents by fact")
        save(fig, "documents_by_fact")

    levels = [(k, v["mentions"]) for k, v in stats["by_explicitness"].items()]
    premises = list(stats["by_premise"].items())
    if levels or premises:
        fig, ax = plt.subplots(figsize=(7, max(2.5, 0.35 * (len(levels) + len(premises)) + 1)))
        labels = [k for k, _ in levels] + [f"premise {k}" for k, _ in premises]
        values = [n for _, n in levels] + [n for _, n in premises]
        colours = ["#3b8ea5"] * len(levels) + ["#a5673b"] * len(premises)
        ax.barh(labels[::-1], values[::-1], color=colours[::-1])
        ax.set_xlabel("mentions")
        ax.set_title("mentions by explicitness level, and premises of split facts")
        ax.tick_params(axis="y", labelsize=8)
        save(fig, "explicitness")

    reasons = sorted(stats["rejections"].items(), key=lambda kv: kv[1])
    if reasons:
        fig, ax = plt.subplots(figsize=(7, max(2.5, 0.35 * len(reasons) + 1)))
        ax.barh([r for r, _ in reasons], [n for _, n in reasons], color="#b04a4a")
        ax.set_xlabel("documents rejected")
        ax.set_title(f"rejections by reason ({sum(n for _, n in reasons):,} of {stats['planned']:,} planned)")
        save(fig, "rejections")
    return written


FIGURES_HEADING = "## Figures"
FIGURES_BEFORE = "## Intended use"  # where the section goes in a card built by this version


def embed_in_card(out: Path, plots: list[Path]) -> bool:
    """Put a Figures section in OUT/README.md when the plots live inside OUT, and record them in the manifest."""
    out = Path(out)
    card = out / "README.md"
    try:
        rel = [p.resolve().relative_to(out.resolve()) for p in plots]
    except ValueError:
        return False
    titles = {filename: title for title, filename in zip(TITLES.values(), FIGURES.values())}
    # Percent-encoded, so a folder called "my plots" or "50% sample" still makes a working link.
    section = [FIGURES_HEADING, ""] + [f"![{titles[r.name]}]({quote(r.as_posix())})" for r in rel] + [""]
    text = _without_figures(card.read_text(encoding="utf-8"))
    at = text.find("\n" + FIGURES_BEFORE + "\n")
    if at == -1:
        text = text.rstrip() + "\n\n" + "\n".join(section)
    else:
        text = text[: at + 1] + "\n".join(section) + "\n" + text[at + 1:]
    card.write_text(text, encoding="utf-8")
    # The plots and the changed card are part of the dataset now: verify and push must cover them.
    record_files(out, ["README.md", *(r.as_posix() for r in rel)])
    return True


def _without_figures(text: str) -> str:
    """The card without an earlier Figures section (up to the next section, or the end)."""
    start = text.find("\n" + FIGURES_HEADING + "\n")
    if start == -1:
        return text
    following = text.find("\n## ", start + len(FIGURES_HEADING) + 2)
    return text[: start + 1] + (text[following + 1:] if following != -1 else "")
