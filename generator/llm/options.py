"""What a user chose for an LLM build: model, sampling, stage sizes, pacing and cache."""
from __future__ import annotations

from dataclasses import asdict, dataclass

# Options that change how fast an LLM build runs, never what it writes: not part of the build key.
# Prices only change what the manifest says a run cost.
PACING_OPTIONS = ("rpm", "input_tpm", "output_tpm", "concurrency", "poll_interval", "api_attempts", "base_url",
                  "price_in", "price_out")


@dataclass(frozen=True)
class LLMOptions:
    model: str | None = None  # None: the backend's default model (backends/<provider>.py)
    temperature: float | None = None  # None: the API's own sampling (current Anthropic models take none)
    max_tokens: int = 4096
    brainstorm_max_tokens: int = 2048
    types_per_fact: int = 10
    ideas_per_type: int = 10
    words: int = 700
    retries: int = 2
    revise: bool = False
    classify: bool = False
    rpm: float | None = 50
    input_tpm: float | None = None
    output_tpm: float | None = None
    concurrency: int = 16
    base_url: str | None = None
    cache_path: str | None = None
    poll_interval: float = 10.0
    api_attempts: int = 10
    price_in: float | None = None  # USD per million input tokens, for models not in prices.yaml
    price_out: float | None = None

    def manifest(self) -> dict:
        out = asdict(self)
        out.pop("cache_path")
        out["base_url"] = "default" if not self.base_url else self.base_url
        return out

    def output_shaping(self) -> dict:
        """The options that decide what the model is asked, hence what it writes."""
        return {k: v for k, v in self.manifest().items() if k not in PACING_OPTIONS}
