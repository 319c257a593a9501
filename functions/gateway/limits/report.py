"""`GET /v1/usage`: a tenant's usage per day and model, from the ledger."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from gateway.errors import InvalidRequest
from gateway.limits.rules import PICODOLLARS
from gateway.limits.windows import day_of
from gateway.storage.counters import CounterStore

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def report_days(query: Mapping[str, str], now: float) -> tuple[str, str]:
    """`start` and `end` (`YYYY-MM-DD`, UTC, both included); either absent: today."""
    today = day_of(now)
    start, end = query.get("start", today), query.get("end", today)
    for name, day in (("start", start), ("end", end)):
        if not _DAY.fullmatch(day):
            raise InvalidRequest(f"'{name}' must be a date as YYYY-MM-DD.", param=name)
    if start > end:
        raise InvalidRequest("'start' must not be after 'end'.", param="start")
    return start, end


async def usage_report(
    store: CounterStore, tenants: Iterable[str], start: str, end: str, every_tenant: bool
) -> dict[str, Any]:
    """One row per tenant (shown only to an operator's key), day and model."""
    data = []
    for tenant in tenants:
        for row in await store.ledger(tenant, start, end):
            counts = row.counts
            entry: dict[str, Any] = {"tenant": tenant} if every_tenant else {}
            data.append(
                entry
                | {
                    "date": row.day,
                    "model": row.model,
                    "requests": counts["requests"],
                    "input_tokens": counts["input_tokens"],
                    "output_tokens": counts["output_tokens"],
                    "cache_read_tokens": counts["cache_read_tokens"],
                    "cache_write_tokens": counts["cache_write_tokens"],
                    "cost_usd": counts["cost"] / PICODOLLARS,
                }
            )
    return {"object": "list", "data": data}
