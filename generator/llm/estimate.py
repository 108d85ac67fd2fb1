"""What an LLM build will cost, before anything is spent."""
from __future__ import annotations

from .pricing import Usage, prices_for

# Rough output sizes per request, in tokens.
PLANNING_TOKENS = 150
TOKENS_PER_WORD = 1.35


def estimate(spec, options, n_fact: int, n_background: int, prompts, batch: bool) -> dict:
    """Requests, tokens and USD for a build, with and without prompt caching."""
    system_tokens = len(prompts.render("system", context=spec.universe.context)) // 4
    n_facts = len(spec.facts)
    stages = {
        "types": (n_facts, 120, options.types_per_fact * 10),
        "ideas": (n_facts * options.types_per_fact, 180, options.ideas_per_type * 45),
        # Content failures are retried; assume one document in ten needs a second try.
        "document": (round((n_fact + n_background) * 1.1), 420, PLANNING_TOKENS + options.words * TOKENS_PER_WORD),
    }
    if options.revise:
        stages["revise"] = (n_fact + n_background, 200 + options.words * TOKENS_PER_WORD,
                            100 + options.words * TOKENS_PER_WORD)
    if options.classify:
        stages["classify"] = (n_fact + n_background, 250 + options.words * TOKENS_PER_WORD, 30)
    cached, uncached = Usage(), Usage()
    rows = {}
    for stage, (requests, prompt_tokens, output_tokens) in stages.items():
        requests = int(requests)
        out = int(requests * output_tokens)
        uncached.requests += requests
        uncached.input_tokens += int(requests * (system_tokens + prompt_tokens))
        uncached.output_tokens += out
        cached.requests += requests
        # The first request of a stage writes the cache; the rest read it (a 5-minute TTL is
        # refreshed by every hit, and a stage's requests run back to back).
        cacheable = system_tokens >= 1024
        cached.input_tokens += int(requests * prompt_tokens + (0 if cacheable else requests * system_tokens))
        cached.cache_creation_input_tokens += system_tokens if cacheable else 0
        cached.cache_read_input_tokens += max(0, requests - 1) * system_tokens if cacheable else 0
        cached.output_tokens += out
        rows[stage] = {"requests": requests, "input_tokens": int(requests * (system_tokens + prompt_tokens)),
                       "output_tokens": out}
    prices = prices_for(options.model, options.price_in, options.price_out)  # fails early on an unknown model
    return {
        "model": options.model, "batch": batch, "stages": rows,
        "requests": cached.requests,
        "input_tokens": uncached.input_tokens, "output_tokens": uncached.output_tokens,
        "cached_prefix_tokens": system_tokens,
        "usd": round(cached.cost(prices, batch), 2),
        "usd_without_caching": round(uncached.cost(prices, batch), 2),
        "prices": prices,
    }
