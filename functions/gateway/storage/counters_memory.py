"""`memory://` counters: this process only (tests, one local server)."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.storage.counters import LEDGER_COUNTS, Counted, CounterUpdate, Item, LedgerRow, apply


class MemoryCounters:
    exact_across_environments = False

    def __init__(self) -> None:
        self._items: dict[str, Item] = {}
        self._ledger: dict[tuple[str, str, str], dict[str, int]] = {}

    async def update(self, update: CounterUpdate) -> Counted:
        # No await between reading and writing: atomic on the event loop.
        return apply(self._items.setdefault(update.key, {}), update)

    async def record(self, tenant: str, day: str, model: str, counts: Mapping[str, int]) -> None:
        row = self._ledger.setdefault((tenant, day, model), {})
        for name in LEDGER_COUNTS:
            row[name] = row.get(name, 0) + counts.get(name, 0)

    async def ledger(self, tenant: str, start: str, end: str) -> list[LedgerRow]:
        return [
            LedgerRow(t, day, model, dict(counts))
            for (t, day, model), counts in sorted(self._ledger.items())
            if t == tenant and start <= day <= end
        ]
