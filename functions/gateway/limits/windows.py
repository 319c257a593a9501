"""Calendar windows in UTC: the minute of rate limits and the periods of budgets. A
window's id names it in the store; a count starts again when the id changes, at the
boundary, never a period after a first request."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.limits.rules import Period


def minute_id(now: float) -> str:
    return str(int(now // 60))


def minute_end(now: float) -> float:
    return (now // 60 + 1) * 60


def period_id(period: Period, now: float) -> str:
    moment = datetime.fromtimestamp(now, UTC)
    if period == "day":
        return moment.strftime("%Y-%m-%d")
    if period == "month":
        return moment.strftime("%Y-%m")
    return "total"


def period_end(period: Period, now: float) -> float | None:
    """When the period ends; None for `total`, which never does."""
    moment = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return moment.timestamp() + 86400
    if period == "month":
        year, month = divmod(moment.month, 12)
        return moment.replace(year=moment.year + year, month=month + 1, day=1).timestamp()
    return None


def day_of(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
