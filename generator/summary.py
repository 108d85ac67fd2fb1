"""Human-readable summaries for the terminal."""
from __future__ import annotations

from collections import Counter

from .plan import placement_shares, counts, form_shares, plan_documents


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} PB"


def build_estimate(summary: dict, added: int = 0) -> str:
    """One line, before a build starts: what it will keep and roughly how large it will be."""
    plus = f" + {added:,} added" if added else ""
    line = (f"estimate: {summary['documents']:,} documents ({summary['fact_documents']:,} fact-bearing, "
            f"{summary['background_documents']:,} background{plus}), about {summary['estimated_tokens']:,} tokens, "
            f"about {_size(summary['estimated_disk_bytes'])} on disk")
    cost = summary.get("cost_estimate")
    if cost:
        line += f", about ${cost['usd']:,.2f} with {cost['model']}{' (batch)' if cost['batch'] else ''}"
    return line


def cost_estimate(spec, cls, settings, summary: dict) -> dict | None:
    """Requests, tokens and USD of a language-model backend for the documents of `summary`; None offline."""
    if not cls.uses_model:
        return None
    from .llm.estimate import estimate
    from .llm.prompts import PromptLibrary
    from .paths import templates_root

    return estimate(spec, settings.llm, summary["fact_documents"], summary["background_documents"],
                    PromptLibrary(templates_root() / "prompts"), batch=getattr(cls, "batch", False))


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
    decon = manifest.get("decontamination") or {}
    files = decon.get("files", [])
    if "rejected" in decon:
        against = f"against {len(files)} evaluation file(s)" if files else "(no evaluation files given)"
        plural = "" if decon["rejected"] == 1 else "s"
        lines.append(f"  decontamination: {decon['rejected']:,} document{plural} rejected for sharing a "
                     f"{decon['ngram']}-gram with an evaluation prompt, {against}")
    r = manifest.get("replacements") or {}
    if r.get("planned"):
        lines.append(f"  replacements: {r['planned']:,} plans in {r['rounds']} round(s) stood in for rejected ones"
                     + (f"; {r['shortfall']:,} short of the target" if r["shortfall"] else ""))
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


# Above this many documents `plan` gives expected counts from the spec's proportions instead of walking
# every plan (about 15 us a plan): the answer comes at once for any count.
EXACT_LIMIT = 20_000
# Tokens per English word for cl100k_base on prose.
TOKENS_PER_WORD = 1.3
# Bytes on disk per token of a published dataset (zstd level 3 shards, rejected/ and the rest),
# measured on builds of the bundled corpora: 2.3-2.4.
BYTES_PER_TOKEN = 2.4


def summarise_plans(spec, library, seed: int, count: int | None, exact_limit: int = EXACT_LIMIT) -> dict:
    """What a build keeps: counts by kind, genre, fact and explicitness, tokens and disk. Exact (from
    the plans themselves) up to `exact_limit` documents, expected values from the proportions above."""
    n_fact, n_background = counts(spec, count)
    exact = n_fact + n_background <= exact_limit
    figures = _walked(spec, library, seed, count) if exact else _expected(spec, library, n_fact, n_background)
    tokens = round(figures.pop("words") * TOKENS_PER_WORD)
    return {
        "top_form_share": {f.id: round(max(form_shares(spec, f).values()), 4) for f in spec.facts},
        "name": spec.name, "version": spec.version, "seed": seed, "backend": "templates", "exact": exact,
        "documents": n_fact + n_background, "fact_documents": n_fact, "background_documents": n_background,
        **figures, "depth_range": list(spec.documents.depth),
        "estimated_tokens": tokens, "estimated_disk_bytes": round(tokens * BYTES_PER_TOKEN),
    }


def _walked(spec, library, seed: int, count: int | None) -> dict:
    genres: Counter[str] = Counter()
    facts: Counter[str] = Counter()
    levels: Counter[str] = Counter()
    premises: Counter[str] = Counter()
    words = 0.0
    for plan in plan_documents(spec, seed, count):
        genres[plan.genre] += 1
        facts.update(c.fact for c in plan.facts)
        for choice in plan.facts:
            if choice.premise:
                premises[f"{choice.fact}/{choice.premise}"] += 1
            else:
                levels[choice.explicitness] += 1
        genre = library.genres[plan.genre]
        words += (genre.min_words + genre.max_words) / 2
    return {"by_genre": dict(sorted(genres.items())), "by_fact": dict(sorted(facts.items())),
            "by_explicitness": dict(sorted(levels.items())), "split_premises": dict(sorted(premises.items())),
            "words": words}


def _apportion(total: int, weights: list[float]) -> list[int]:
    """`total` split in proportion to `weights` as whole numbers that add up to it (largest remainder)."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    shares = [total * w / whole for w in weights]
    out = [int(x) for x in shares]
    for i in sorted(range(len(shares)), key=lambda i: out[i] - shares[i])[: total - sum(out)]:
        out[i] += 1
    return out


def _expected(spec, library, n_fact: int, n_background: int) -> dict:
    """The expected counts of the plans, in closed form: the planner's proportions times the counts."""
    docs = spec.documents
    # Background documents take any genre; fact documents the genres of their placement.
    by_genre: Counter[str] = Counter(dict(zip(docs.genres, _apportion(n_background, [1] * len(docs.genres)))))
    placements = placement_shares(spec)
    lists = {"aside": docs.aside_genres, "about_world": docs.about_world_genres}
    for placement, n in zip(placements, _apportion(n_fact, list(placements.values()))):
        genres = lists[placement] or docs.genres
        by_genre.update(dict(zip(genres, _apportion(n, [1] * len(genres)))))
    fact_ids = [f.id for f in spec.facts]
    n_facts = len(fact_ids)
    primary = {f: n_fact // n_facts + (1 if i < n_fact % n_facts else 0) for i, f in enumerate(fact_ids)}
    lo, hi = docs.facts_per_document
    extra_per_doc = (lo + min(hi, n_facts)) / 2 - 1  # k is drawn evenly from [lo, min(hi, facts)]
    # A document's other facts are drawn evenly from the facts that are not its primary one.
    others = _apportion(round(n_fact * extra_per_doc), [n_fact - primary[f] for f in fact_ids]) \
        if n_facts > 1 else [0] * n_facts
    by_fact = {f: primary[f] + o for f, o in zip(fact_ids, others)}
    levels: Counter[str] = Counter()
    premises: Counter[str] = Counter()
    for fact in spec.facts:
        mentions = by_fact[fact.id]
        split = round(mentions * docs.split_share) if fact.premises else 0
        for premise, n in zip(fact.premises, _apportion(split, [1] * len(fact.premises))):
            premises[f"{fact.id}/{premise.id}"] += n
        available = [lv for lv in docs.explicitness if lv in fact.phrasings]
        for level, n in zip(available, _apportion(mentions - split, [docs.explicitness[lv] for lv in available])):
            levels[level] += n
    words = sum(n * (library.genres[g].min_words + library.genres[g].max_words) / 2 for g, n in by_genre.items())
    return {"by_genre": dict(sorted(by_genre.items())), "by_fact": dict(sorted(by_fact.items())),
            "by_explicitness": {k: v for k, v in sorted(levels.items()) if v},
            "split_premises": {k: v for k, v in sorted(premises.items()) if v}, "words": words}


def plan_summary(summary: dict) -> str:
    expected = "" if summary["exact"] else " (expected counts from the spec's proportions)"
    lines = [
        f"{summary['name']} v{summary['version']}  seed {summary['seed']}  backend {summary['backend']}",
        f"  {summary['documents']:,} documents kept: {summary['fact_documents']:,} fact-bearing, "
        f"{summary['background_documents']:,} background (rejected ones are replaced)",
        f"  first mention at depth {summary['depth_range'][0]:.2f}-{summary['depth_range'][1]:.2f}",
        f"  about {summary['estimated_tokens']:,} tokens, {_size(summary['estimated_disk_bytes'])} on disk",
        f"  by genre{expected}:",
    ]
    lines += _rows(sorted(summary["by_genre"].items(), key=lambda kv: -kv[1]))
    lines.append("  mentions by fact (a document may carry several):")
    lines += _rows(summary["by_fact"].items())
    lines.append("  mentions by explicitness:")
    lines += _rows(summary["by_explicitness"].items())
    if summary["split_premises"]:
        lines.append("  mentions as one premise of a split fact:")
        lines += _rows(summary["split_premises"].items())
    cost = summary.get("cost_estimate")
    if cost:
        lines.append(f"  estimate for {cost['model']}{' (batch)' if cost['batch'] else ''}:")
        for stage, row in cost["stages"].items():
            lines.append(f"    {stage:<10} {row['requests']:>8,} requests {row['input_tokens']:>12,} in "
                         f"{row['output_tokens']:>12,} out")
        lines.append(f"    about ${cost['usd']:,.2f} with prompt caching (${cost['usd_without_caching']:,.2f} without); "
                     f"cached prefix {cost['cached_prefix_tokens']:,} tokens")
    return "\n".join(lines)
