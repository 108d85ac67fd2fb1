"""The manifest: what a dataset holds, how it was made, and its fingerprint."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from typing import Any

from . import __version__
from .paths import display_path, git_commit
from .tokens import TOKENIZER

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
        self.mentions_by_explicitness: Counter[str] = Counter()  # levels only; premises of split facts apart
        self.mentions_by_premise: Counter[str] = Counter()  # "fact/premise"
        self.by_fact_count: Counter[str] = Counter()  # fact documents by how many facts they carry
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
        for span in row["spans"]:
            if span.get("premise"):
                self.mentions_by_premise[f"{span['fact']}/{span['premise']}"] += 1
            else:
                self.mentions_by_explicitness[span["explicitness"]] += 1
        if row["kind"] == "fact":
            self.by_fact_count[str(len(row["facts"]))] += 1
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


def version_key(version: str) -> tuple[int, ...]:
    """A semver's major, minor and patch, for ordering releases (ValueError if it has none)."""
    core = version.split("+")[0].split("-")[0]
    return tuple(int(x) for x in core.split("."))


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


@dataclass
class BuildInfo:
    """What a build knows about itself besides its output (the manifest's provenance fields)."""

    seed: int
    requested: int | None
    planned: int
    build_key: str
    templates_sha256: str
    backend: dict  # backend_manifest()
    usage: dict  # usage_manifest()
    replacements: dict  # what stood in for rejected plans (build.Rounds)


def shard_entry(path: str, shard) -> dict:
    return {"path": path, "sha256": shard.sha256, "bytes": shard.bytes, "rows": shard.rows, "tokens": shard.tokens}


def assemble(spec, merged, shard_entries: list[dict], rejected_entries: list[dict], info: BuildInfo) -> dict:
    """The manifest of a finished build, validated against its JSON Schema."""
    import pyarrow as pa

    stats, rejections, out = merged.stats, merged.rejections, spec.output
    decontamination = spec.filters.decontamination
    manifest = {
        "manifest_version": 1,
        "name": spec.name,
        "version": spec.version,
        "description": spec.description,
        "fingerprint": fingerprint(spec.sha256, [s["sha256"] for s in shard_entries], TOKENIZER),
        "build_key": info.build_key,
        "spec": {"path": display_path(spec.path), "sha256": spec.sha256},
        "generator": {"version": __version__, "git_commit": git_commit()},
        "backend": {**info.backend, "templates_sha256": info.templates_sha256},
        "seed": info.seed,
        "requested_documents": info.requested,
        "tokenizer": TOKENIZER,
        "shards": shard_entries,
        "rejected_files": rejected_entries,
        "totals": {
            "planned": info.planned, "documents": stats.documents, "fact_documents": stats.by_kind["fact"],
            "background_documents": stats.by_kind["background"], "rejected": sum(rejections.values()),
            "tokens": stats.tokens, "min_tokens": stats.min_tokens, "max_tokens": stats.max_tokens,
        },
        "documents_by_genre": sorted_counts(stats.by_genre),
        "tokens_by_genre": sorted_counts(stats.tokens_by_genre),
        "documents_by_fact": sorted_counts(stats.by_fact),
        "mentions_by_explicitness": sorted_counts(stats.mentions_by_explicitness),
        "mentions_by_premise": sorted_counts(stats.mentions_by_premise),
        "documents_by_fact_count": sorted_counts(stats.by_fact_count),
        "depth_range": list(spec.documents.depth),
        "depth_percentiles": stats.depth_percentiles(),
        "depth_histogram": stats.depth_histogram(),
        "rejections": sorted_counts(rejections),
        "replacements": info.replacements,
        "diversity": merged.diversity,
        "realism": merged.realism,
        "decontamination": {"ngram": decontamination.ngram, "rejected": rejections.get("contaminated", 0), "files": [
            {"path": str(f), "sha256": hashlib.sha256(f.read_bytes()).hexdigest()} for f in decontamination.files]},
        "usage": info.usage,
        "parent_fingerprint": None,
        "writer": {"pyarrow": pa.__version__, "compression": out.compression,
                   "compression_level": out.compression_level, "row_group_rows": out.row_group_rows,
                   "shard_size_mb": out.shard_size_mb},
        "created_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
    }
    assert manifest["totals"]["documents"] + manifest["totals"]["rejected"] == info.planned, "a document went missing"
    validate_manifest(manifest)
    return manifest
