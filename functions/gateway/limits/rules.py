"""A tenant's limits as configured: `"limits"` and `"model_limits"` in `GATEWAY_API_KEYS`.

Money is kept in whole picodollars (10^-12 USD) everywhere: prices per token, budgets and
spend are then integers, added and compared exactly in every store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.errors import ConfigurationError

Period = Literal["day", "month", "total"]
PERIODS: tuple[Period, ...] = ("day", "month", "total")
PICODOLLARS = 10**12
"""Picodollars in a US dollar."""


@dataclass(frozen=True, slots=True)
class Budget:
    picodollars: int
    period: Period

    @property
    def usd(self) -> float:
        return self.picodollars / PICODOLLARS


@dataclass(frozen=True, slots=True)
class Limits:
    """Any subset; None: not limited."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    concurrent_requests: int | None = None
    budget: Budget | None = None


_COUNTS = ("requests_per_minute", "tokens_per_minute", "concurrent_requests")


def parse_limits(raw: object, where: str) -> Limits:
    """`where` names the tenant (and model) in the message of a `ConfigurationError`."""
    if not isinstance(raw, dict):
        raise ConfigurationError(f"GATEWAY_API_KEYS: {where} limits must be an object")
    unknown = sorted(set(raw) - {*_COUNTS, "budget"})
    if unknown:
        raise ConfigurationError(f"GATEWAY_API_KEYS: {where} has unknown limit {unknown[0]!r}")
    counts = {name: _whole(raw[name], f"{where} {name}") for name in _COUNTS if name in raw}
    budget = _budget(raw["budget"], f"{where} budget") if "budget" in raw else None
    return Limits(**counts, budget=budget)


def _whole(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**53:
        raise ConfigurationError(f"GATEWAY_API_KEYS: {where} must be a whole number above 0")
    return value


def _budget(raw: object, where: str) -> Budget:
    if not isinstance(raw, dict) or set(raw) - {"usd", "period"}:
        raise ConfigurationError(
            f'GATEWAY_API_KEYS: {where} must be {{"usd": amount, "period": "day" | "month" '
            '| "total"}'
        )
    usd, period = raw.get("usd"), raw.get("period")
    if isinstance(usd, bool) or not isinstance(usd, int | float) or not 0 < usd < 10**6:
        raise ConfigurationError(
            f"GATEWAY_API_KEYS: {where} usd must be a number above 0 (and below 1,000,000)"
        )
    if period not in PERIODS:
        raise ConfigurationError(
            f'GATEWAY_API_KEYS: {where} period must be "day", "month" or "total"'
        )
    return Budget(round(usd * PICODOLLARS), period)
