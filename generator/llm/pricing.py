"""What a run costs, from the price table in generator/prices.yaml."""
from __future__ import annotations

import functools
import json
import re
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from ..errors import PriceError


@functools.lru_cache(maxsize=None)
def price_table() -> dict:
    import yaml

    return yaml.safe_load(resources.files("generator").joinpath("prices.yaml").read_text())


DATED = re.compile(r"-\d{4}-?\d{2}-?\d{2}$")


def model_prices(model: str) -> dict:
    """The table's entry for `model`, or for its alias when `model` is the alias plus a date."""
    models = price_table()["models"]
    if model in models:
        return models[model]
    # Dated ids ("claude-sonnet-4-5-20250929", "gpt-4.1-mini-2025-04-14") share the price of their alias;
    # anything else (gpt-5-pro is not gpt-5) has to be in the table or priced by the user.
    undated = DATED.sub("", model)
    if undated != model and undated in models:
        return models[undated]
    raise PriceError(f"no price for model {model!r}; give --price-in and --price-out (USD per million tokens; "
                     "0 and 0 for your own server) or add it to generator/prices.yaml")


def prices_for(model: str, price_in: float | None = None, price_out: float | None = None) -> dict:
    """Every price a bill needs (USD per million tokens, and the batch discount), resolved.

    --price-in/--price-out override the table (both, or neither); cached input then bills at the
    full input price, an upper bound, unless the table lists the model's own cache prices.
    """
    mult = price_table()["multipliers"]
    if (price_in is None) != (price_out is None):
        raise PriceError("give both --price-in and --price-out (USD per million tokens), or neither")
    if price_in is not None:
        if price_in < 0 or price_out < 0:
            raise PriceError("--price-in and --price-out must be zero or more")
        return {"input": float(price_in), "output": float(price_out), "cache_write": float(price_in),
                "cache_read": float(price_in), "batch_discount": mult["batch_discount"]}
    entry = model_prices(model)
    return {"input": entry["input"], "output": entry["output"],
            "cache_write": entry.get("cache_write", entry["input"] * mult["cache_write"]),
            "cache_read": entry.get("cache_read", entry["input"] * mult["cache_read"]),
            "batch_discount": mult["batch_discount"]}


def _resolve(prices) -> dict:
    return prices_for(prices) if isinstance(prices, str) else prices


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

    def cost(self, prices: dict | str, batch: bool = False) -> float:
        """USD for this usage; `prices` from prices_for (or a model name in the table)."""
        prices = _resolve(prices)
        usd = self.input_bill(prices) + self.output_tokens * prices["output"] / 1e6
        return usd * (prices["batch_discount"] if batch else 1.0)

    def input_bill(self, prices: dict | str) -> float:
        """The input side of the bill only (what prompt caching changes)."""
        prices = _resolve(prices)
        return (self.input_tokens * prices["input"] + self.cache_creation_input_tokens * prices["cache_write"]
                + self.cache_read_input_tokens * prices["cache_read"]) / 1e6

    def as_manifest(self, prices: dict | str, batch: bool = False) -> dict:
        out = asdict(self)
        out["usd"] = round(self.cost(prices, batch), 6)
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
