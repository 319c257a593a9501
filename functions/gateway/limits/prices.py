"""What a route's tokens cost, in picodollars per token, and what an answer costs.

A route's own `"price"` (US dollars per million tokens) wins; else LiteLLM's bundled
price list, read as data from the installed package (found with `find_spec`, which
imports nothing: the direct path never imports LiteLLM) and only when a route needs it.
Nothing is fetched at run time.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from gateway.core.chunks import Usage
from gateway.errors import ConfigurationError
from gateway.limits.rules import PICODOLLARS

PRICE_KINDS = ("input", "output", "cache_read", "cache_write")
LONG_CONTEXT_TOKENS = 200_000
"""Above this much input, LiteLLM's list may give other prices (`*_above_200k_tokens`)."""
_PER_MILLION = PICODOLLARS // 10**6
"""Picodollars per token for each dollar per million tokens."""


@dataclass(frozen=True, slots=True)
class Price:
    """Picodollars per token of each kind of `Usage` (they never overlap)."""

    input: int
    output: int
    cache_read: int
    cache_write: int
    long_context: Price | None = None
    """The prices when the input exceeds `LONG_CONTEXT_TOKENS`, if they differ."""
    max_output_tokens: int | None = None
    """The model's output limit, where the price list knows it."""

    def cost(self, usage: Usage) -> int:
        """Picodollars for `usage`, each count at its own kind's price."""
        price = self
        if self.long_context is not None and _all_input(usage) > LONG_CONTEXT_TOKENS:
            price = self.long_context
        return (
            usage["input_tokens"] * price.input
            + usage["cache_read_tokens"] * price.cache_read
            + usage["cache_write_tokens"] * price.cache_write
            + usage["output_tokens"] * price.output
        )

    def ceiling(self, input_tokens: int, output_tokens: int) -> int:
        """An upper bound of what `input_tokens` in (of any kind) and `output_tokens` out
        can cost: each at the dearest price it could be billed at."""
        prices = [self] if self.long_context is None else [self, self.long_context]
        per_input = max(max(p.input, p.cache_read, p.cache_write) for p in prices)
        return input_tokens * per_input + output_tokens * max(p.output for p in prices)


def _all_input(usage: Usage) -> int:
    return usage["input_tokens"] + usage["cache_read_tokens"] + usage["cache_write_tokens"]


def parse_price(raw: object, route: str) -> Price:
    """A route's `"price"`: `{"input", "output", "cache_read"?, "cache_write"?}` in US
    dollars per million tokens; cache reads and writes default to the input price."""
    where = f"GATEWAY_MODELS: {route!r} price"
    if not isinstance(raw, dict) or set(raw) - set(PRICE_KINDS):
        raise ConfigurationError(f"{where} must be an object with {', '.join(PRICE_KINDS)}")
    dollars = {}
    for kind in PRICE_KINDS:
        value = raw.get(kind, raw.get("input"))
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 10**6:
            raise ConfigurationError(f"{where} {kind} must be a number of dollars (0 or more)")
        dollars[kind] = round(value * _PER_MILLION)
    return Price(dollars["input"], dollars["output"], dollars["cache_read"], dollars["cache_write"])


def bundled_price(model: str) -> Price | None:
    """LiteLLM's price for `model` (a route's `model`, with or without its provider
    prefix), or None when the list does not have it or LiteLLM is not installed."""
    prices = _bundled_list()
    entry = prices.get(model) or prices.get(model.partition("/")[2])
    if not isinstance(entry, dict) or "input_cost_per_token" not in entry:
        return None
    try:
        return _from_entry(entry)
    except (TypeError, ValueError):
        return None


def _from_entry(entry: Mapping[str, Any], suffix: str = "") -> Price:
    def per_token(name: str, fallback: str = "input_cost_per_token") -> int:
        value = entry.get(name + suffix, entry.get(name, entry.get(fallback + suffix, 0)))
        return round(float(value) * PICODOLLARS)

    long_context = None
    if not suffix and any(key.endswith("_above_200k_tokens") for key in entry):
        long_context = _from_entry(entry, "_above_200k_tokens")
    limit = entry.get("max_output_tokens")
    return Price(
        input=per_token("input_cost_per_token"),
        output=per_token("output_cost_per_token", "output_cost_per_token"),
        cache_read=per_token("cache_read_input_token_cost"),
        cache_write=per_token("cache_creation_input_token_cost"),
        long_context=long_context,
        max_output_tokens=limit if isinstance(limit, int) and limit > 0 else None,
    )


@cache
def _bundled_list() -> Mapping[str, Any]:
    """Read once, on first need (about 30 ms for its 3.5 MB)."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        return {}
    path = Path(spec.origin).parent / "model_prices_and_context_window_backup.json"
    try:
        prices = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return prices if isinstance(prices, dict) else {}
