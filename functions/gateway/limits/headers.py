"""A tenant's allowance as response headers, in each door's vocabulary."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Kind = Literal["requests", "tokens"]


@dataclass(frozen=True, slots=True)
class Allowance:
    """One kind of allowance (the tightest of the tenant's and the model's)."""

    kind: Kind
    limit: int
    remaining: int
    reset_at: float
    """Unix time at which the window ends."""


def openai_headers(allowances: tuple[Allowance, ...], now: float) -> dict[str, str]:
    """`x-ratelimit-limit-requests`, `-remaining-`, `-reset-` (a duration such as `6m0s`)."""
    headers = {}
    for allowance in allowances:
        headers[f"x-ratelimit-limit-{allowance.kind}"] = str(allowance.limit)
        headers[f"x-ratelimit-remaining-{allowance.kind}"] = str(max(allowance.remaining, 0))
        headers[f"x-ratelimit-reset-{allowance.kind}"] = duration(allowance.reset_at - now)
    return headers


def anthropic_headers(allowances: tuple[Allowance, ...], now: float) -> dict[str, str]:
    """`anthropic-ratelimit-requests-limit`, `-remaining`, `-reset` (an RFC 3339 time)."""
    headers = {}
    for allowance in allowances:
        prefix = f"anthropic-ratelimit-{allowance.kind}"
        headers[f"{prefix}-limit"] = str(allowance.limit)
        headers[f"{prefix}-remaining"] = str(max(allowance.remaining, 0))
        headers[f"{prefix}-reset"] = rfc3339(allowance.reset_at)
    return headers


def duration(seconds: float) -> str:
    """OpenAI's way of writing a wait: `20ms`, `1s`, `6m0s`."""
    millis = max(math.ceil(seconds * 1000), 0)
    if millis < 1000:
        return f"{millis}ms"
    whole = math.ceil(millis / 1000)
    minutes, rest = divmod(whole, 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"


def rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def retry_after(seconds: float) -> dict[str, str]:
    """What the official SDKs wait for before their next attempt."""
    return {
        "retry-after": str(max(math.ceil(seconds), 1)),
        "retry-after-ms": str(max(math.ceil(seconds * 1000), 1)),
    }
