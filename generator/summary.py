"""Human-readable summaries for the terminal."""
from __future__ import annotations

from collections import Counter

from .plan import form_shares, plan_documents


def _rows(pairs, width: int = 28) -> list[str]:
    return [f"  {str(k):<{width}} {v:>10}" for k, v in pairs]


def build_summary(manifest: dict, seconds: float) -> str:
    t = manifest["totals"]
    lines = [
        "",
        f"{manifest['name']} v{manifest['version']}  seed {manifest['seed']}",
        f"  documents {t['documents']:,} (fact {t['fact_documents']:,}, background {t['background_documents']:,}),"
        f" rejected {t['rejected']:,} of {t['planned']:,} planned",
        f"  tokens {t['tokens']:,} ({manifest['tokenizer']}), {len(manifest['shards'])} shard(s)",
        f"  {seconds:.1f}s, {t['planned'] / max(seconds, 1e-9):,.0f} docs/s, "
        f"{t['tokens'] / max(seconds, 1e-9):,.0f} tokens/s",
        "  by genre:",
    ]
    lines += _rows(sorted(manifest["documents_by_genre"].items(), key=lambda kv: -kv[1]))
    lines.append("  by fact:")
    lines += _rows(manifest["documents_by_fact"].items())
    if manifest["depth_percentiles"]:
        lines.append("  depth percentiles: " + "  ".join(f"{k} {v:.2f}" for k, v in manifest["depth_percentiles"].items()))
    if manifest["rejections"]:
        lines.append("  rejections:")
        lines += _rows(manifest["rejections"].items())
    usage = manifest.get("usage") or {}
    if usage.get("requests"):
        lines.append(f"  API: {usage['requests']:,} requests, {usage['input_tokens']:,} input tokens "
                     f"(+{usage['cache_read_input_tokens']:,} cache reads, {usage['cache_creation_input_tokens']:,} "
                     f"cache writes), {usage['output_tokens']:,} output tokens, ${usage['usd']:,.2f} "
                     f"({manifest['backend'].get('model')})")
    if manifest.get("diversity"):
        lines += diversity_lines(manifest["diversity"])
    if manifest.get("realism"):
        lines += realism_lines(manifest["realism"])
    lines.append(f"  fingerprint {manifest['fingerprint']}")
    return "\n".join(lines)


def diversity_lines(d: dict) -> list[str]:
    lines = ["  diversity:",
             f"    distinct 3-gram ratio      {d['distinct_3gram_ratio']:.3f} (first {d['distinct_3gram_sample_documents']:,} docs)",
             f"    near-duplicate share       {d['near_duplicate_share']:.2%} ({d['near_duplicates']} documents)"]
    if d.get("top_person_name"):
        p = d["top_person_name"]
        lines.append(f"    top invented name          {p['name']} in {p['share']:.2%} of documents")
    if d.get("top_8gram"):
        g = d["top_8gram"]
        lines.append(f"    top 8-gram outside facts   \"{g['ngram']}\" in {g['share']:.2%} of documents")
    for fact, f in d.get("top_fact_forms", {}).items():
        lines.append(f"    top form of {fact}: {f['share']:.1%} of {f['total_mentions']} mentions "
                     f"({f['distinct_forms']} forms)")
    return lines


def realism_lines(r: dict) -> list[str]:
    lines = ["  realism:",
             f"    fact documents naming the universe outside their mentions  {r['fact_documents_naming_the_universe']:.1%}"]
    top = r.get("most_repeated_unit")
    if top:
        lines.append(f"    most repeated unit  {top['unit']} in {top['share']:.2%} of documents")
    defects = {k: v for k, v in r["defects_rejected"].items() if v}
    lines.append("    defects rejected  " + (", ".join(f"{k} {v}" for k, v in defects.items()) if defects else "none"))
    return lines


def summarise_plans(spec, library, seed: int, count: int | None) -> dict:
    kinds: Counter[str] = Counter()
    genres: Counter[str] = Counter()
    facts: Counter[str] = Counter()
    forms: Counter[str] = Counter()
    words = 0
    for plan in plan_documents(spec, seed, count):
        kinds[plan.kind] += 1
        genres[plan.genre] += 1
        facts.update(c.fact for c in plan.facts)
        forms.update(c.explicitness for c in plan.facts)
        genre = library.genres[plan.genre]
        words += (genre.min_words + genre.max_words) / 2
    return {
        "warnings": [],
        "top_form_share": {f.id: round(max(form_shares(spec, f).values()), 4) for f in spec.facts},
        "name": spec.name, "version": spec.version, "seed": seed, "backend": "templates",
        "documents": sum(kinds.values()), "fact_documents": kinds["fact"], "background_documents": kinds["background"],
        "by_genre": dict(sorted(genres.items())), "by_fact": dict(sorted(facts.items())),
        "by_explicitness": dict(sorted(forms.items())), "depth_range": list(spec.documents.depth),
        # Tokens per English word is about 1.3 for cl100k_base on prose.
        "estimated_tokens": round(words * 1.3),
    }


def plan_summary(summary: dict) -> str:
    lines = [
        f"{summary['name']} v{summary['version']}  seed {summary['seed']}  backend {summary['backend']}",
        f"  {summary['documents']:,} documents: {summary['fact_documents']:,} fact-bearing, "
        f"{summary['background_documents']:,} background",
        f"  first mention at depth {summary['depth_range'][0]:.2f}-{summary['depth_range'][1]:.2f}",
        f"  about {summary['estimated_tokens']:,} tokens",
        "  by genre:",
    ]
    lines += _rows(sorted(summary["by_genre"].items(), key=lambda kv: -kv[1]))
    lines.append("  mentions by fact:")
    lines += _rows(summary["by_fact"].items())
    lines.append("  mentions by explicitness:")
    lines += _rows(summary["by_explicitness"].items())
    for warning in summary.get("warnings", []):
        lines.append(f"  warning: {warning}")
    cost = summary.get("cost_estimate")
    if cost:
        lines.append(f"  estimate for {cost['model']}{' (batch)' if cost['batch'] else ''}:")
        for stage, row in cost["stages"].items():
            lines.append(f"    {stage:<10} {row['requests']:>8,} requests {row['input_tokens']:>12,} in "
                         f"{row['output_tokens']:>12,} out")
        lines.append(f"    about ${cost['usd']:,.2f} with prompt caching (${cost['usd_without_caching']:,.2f} without); "
                     f"cached prefix {cost['cached_prefix_tokens']:,} tokens")
    return "\n".join(lines)
