"""The manifest: what a dataset holds, how it was made, and its fingerprint."""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from importlib import resources
from typing import Any

PERCENTILES = (0, 5, 25, 50, 75, 95, 100)
DEPTH_BINS = 1000  # percentiles to 0.001 from a fixed histogram: bounded memory at any corpus size


class CorpusStats:
    """Counts over kept rows, accumulated as they stream past."""

    def __init__(self) -> None:
        self.documents = 0
        self.tokens = 0
        self.by_kind: Counter[str] = Counter()
        self.by_genre: Counter[str] = Counter()
        self.tokens_by_genre: Counter[str] = Counter()
        self.by_fact: Counter[str] = Counter()
        self.mentions_by_explicitness: Counter[str] = Counter()
        self.depth_hist = [0] * (DEPTH_BINS + 1)
        self.depths = 0
        self.min_tokens: int | None = None
        self.max_tokens = 0

    def add(self, row: dict) -> None:
        self.documents += 1
        self.tokens += row["n_tokens"]
        self.by_kind[row["kind"]] += 1
        self.by_genre[row["genre"]] += 1
        self.tokens_by_genre[row["genre"]] += row["n_tokens"]
        self.by_fact.update(row["facts"])
        self.mentions_by_explicitness.update(s["explicitness"] for s in row["spans"])
        if row["depth"] is not None:
            self.depth_hist[min(DEPTH_BINS, int(row["depth"] * DEPTH_BINS))] += 1
            self.depths += 1
        self.min_tokens = row["n_tokens"] if self.min_tokens is None else min(self.min_tokens, row["n_tokens"])
        self.max_tokens = max(self.max_tokens, row["n_tokens"])

    def depth_percentiles(self) -> dict[str, float] | None:
        if not self.depths:
            return None
        out = {}
        for p in PERCENTILES:
            rank = max(1, round(p / 100 * self.depths)) if p else 1
            seen = 0
            for bin_, n in enumerate(self.depth_hist):
                seen += n
                if seen >= rank:
                    out[f"p{p}"] = round(bin_ / DEPTH_BINS, 3)
                    break
        return out

    def depth_histogram(self, bins: int = 10) -> list[int]:
        width = DEPTH_BINS // bins
        return [sum(self.depth_hist[i * width:(i + 1) * width + (1 if i == bins - 1 else 0)]) for i in range(bins)]


def fingerprint(spec_sha256: str, shard_hashes: list[str], tokenizer: str) -> str:
    payload = json.dumps({"spec_sha256": spec_sha256, "shards": sorted(shard_hashes), "tokenizer": tokenizer},
                         sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def manifest_schema() -> dict:
    return json.loads(resources.files("generator").joinpath("schemas/manifest.schema.json").read_text())


def validate_manifest(manifest: dict[str, Any]) -> None:
    from jsonschema import Draft202012Validator

    Draft202012Validator(manifest_schema()).validate(manifest)


def sorted_counts(counter: Counter) -> dict[str, int]:
    return {k: counter[k] for k in sorted(counter)}
