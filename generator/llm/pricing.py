"""What a run costs, from the price table in generator/prices.yaml."""
from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from ..errors import PriceError


@functools.lru_cache(maxsize=None)
def price_table() -> dict:
    import yaml

    return yaml.safe_load(resources.files("generator").joinpath("prices.yaml").read_text())


def model_prices(model: str) -> dict:
    models = price_table()["models"]
    if model in models:
        return models[model]
    # Dated ids ("claude-sonnet-4-5-20250929") share the price of their alias.
    for name in sorted(models, key=len, reverse=True):
        if model.startswith(name):
            return models[name]
    raise PriceError(f"no price for model {model!r}; add it to generator/prices.yaml")


@dataclass
class Usage:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def add(self, usage: dict) -> None:
        self.requests += 1
        for name in ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"):
            setattr(self, name, getattr(self, name) + int(usage.get(name) or 0))

    def cost(self, model: str, batch: bool = False) -> float:
        prices = model_prices(model)
        usd = self.input_bill(model) + self.output_tokens * prices["output"] / 1e6
        return usd * (price_table()["multipliers"]["batch_discount"] if batch else 1.0)

    def input_bill(self, model: str) -> float:
        """The input side of the bill only (what prompt caching changes)."""
        prices = model_prices(model)
        mult = price_table()["multipliers"]
        write = prices.get("cache_write", prices["input"] * mult["cache_write"])
        read = prices.get("cache_read", prices["input"] * mult["cache_read"])
        return (self.input_tokens * prices["input"] + self.cache_creation_input_tokens * write
                + self.cache_read_input_tokens * read) / 1e6

    def as_manifest(self, model: str, batch: bool = False) -> dict:
        out = asdict(self)
        out["usd"] = round(self.cost(model, batch), 6)
        return out


class JournalUsage(Usage):
    """Usage that survives restarts: every paid response is appended to a journal in the build folder."""

    def __init__(self, path: Path):
        super().__init__()
        self._path = Path(path)
        if self._path.exists():
            for line in self._path.read_text().splitlines():
                try:
                    Usage.add(self, json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line cut by a kill
        self._fh = None

    def add(self, usage: dict) -> None:
        super().add(usage)
        if self._fh is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self._path, "a", encoding="utf-8")
        self._fh.write(json.dumps(usage) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
