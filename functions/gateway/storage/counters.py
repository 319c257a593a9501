"""Counters that admit or refuse atomically: the usage store's interface.

One `CounterUpdate` is one atomic operation on one item of named integers: every counter
is added to, or none is. At admission (`settle=False`) it is refused when a counter would
pass its ceiling, and a counter whose window (a minute, a day, a month) has ended counts
from zero again; at settlement (`settle=True`) it is never refused, and a counter whose
window has ended since admission is left alone. Stores also keep a ledger of usage per
tenant, day and model for `GET /v1/usage`. `apply` is the one statement of these rules;
the embedded stores run it inside their own atomic section, DynamoDB expresses it as
conditions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

WINDOW = "window:"
"""Prefix of the attribute that holds a window's id in an item."""
LEDGER_COUNTS = (
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost",
)
"""What the ledger adds up per tenant, day and model (`cost` in picodollars)."""

Item = dict[str, int | str]


@dataclass(frozen=True, slots=True)
class Counter:
    name: str
    add: int
    window: str | None = None
    """The window this counter counts in (a key of `CounterUpdate.windows`); None: ever."""
    ceiling: int | None = None
    """At admission, the most it may hold after the add (at least `add`)."""


@dataclass(frozen=True, slots=True)
class CounterUpdate:
    key: str
    windows: Mapping[str, str]
    """Window name → the id of the window (admission: the current one; settlement: the
    one the reservation was made in)."""
    counters: tuple[Counter, ...]
    settle: bool = False


@dataclass(frozen=True, slots=True)
class Counted:
    applied: bool
    values: Mapping[str, int]
    """Each counter after the update, or as found when it was refused."""


@dataclass(frozen=True, slots=True)
class LedgerRow:
    tenant: str
    day: str
    model: str
    counts: Mapping[str, int]


class CounterStore(Protocol):
    exact_across_environments: bool
    """Whether every execution environment shares these counters."""

    async def update(self, update: CounterUpdate) -> Counted:
        """Apply `update` atomically; raises `StoreError`."""
        ...

    async def record(self, tenant: str, day: str, model: str, counts: Mapping[str, int]) -> None:
        """Add `counts` (`LEDGER_COUNTS`) to the ledger; raises `StoreError`."""
        ...

    async def ledger(self, tenant: str, start: str, end: str) -> list[LedgerRow]:
        """The tenant's rows from day `start` to day `end` (both `YYYY-MM-DD`, included)."""
        ...


def in_window(item: Mapping[str, int | str], update: CounterUpdate, counter: Counter) -> bool:
    return counter.window is None or item.get(WINDOW + counter.window) == update.windows.get(
        counter.window
    )


def apply(item: Item, update: CounterUpdate) -> Counted:
    """`update` applied to `item` in place, by the rules above."""
    found = {
        c.name: int(item.get(c.name, 0)) if in_window(item, update, c) else 0
        for c in update.counters
    }
    if update.settle:
        counters = [c for c in update.counters if in_window(item, update, c)]
    else:
        counters = list(update.counters)
        if any(c.ceiling is not None and found[c.name] + c.add > c.ceiling for c in counters):
            return Counted(False, found)
        for window, ident in update.windows.items():
            item[WINDOW + window] = ident
    values = dict(found)
    for counter in counters:
        values[counter.name] = found[counter.name] + counter.add
        item[counter.name] = values[counter.name]
    return Counted(True, values)
