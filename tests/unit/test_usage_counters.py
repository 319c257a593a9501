"""The usage store's counters behave alike in every store: admitted within ceilings,
atomically under concurrency, counted again in a new window, settled in the window they
were reserved in; and the ledger adds up. DynamoDB is moto's server, one request at a time
(`SerialMotoServer`)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from gateway.storage.counters import Counted, Counter, CounterStore, CounterUpdate
from gateway.storage.counters_dynamodb import DynamoDbCounters
from gateway.storage.counters_memory import MemoryCounters
from gateway.storage.counters_sqlite import SqliteCounters
from tests.support.dynamodb import aws_env, create_usage_table, dynamodb_server


@pytest.fixture(scope="module")
def dynamodb_endpoint() -> Iterator[str]:
    with dynamodb_server(serial=True) as endpoint:
        create_usage_table(endpoint, "usage")
        yield endpoint


@pytest.fixture(params=["memory", "sqlite", "dynamodb"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[CounterStore]]:
    """Two handles on one store (two processes' view of it, where a store can be shared)."""
    if request.param == "memory":
        store = MemoryCounters()
        yield [store, store]
    elif request.param == "sqlite":
        yield [SqliteCounters(tmp_path / "usage.sqlite3") for _ in range(2)]
    else:
        endpoint = request.getfixturevalue("dynamodb_endpoint")
        with mock.patch.dict(os.environ, aws_env(endpoint)):
            yield [DynamoDbCounters("usage") for _ in range(2)]


def admission(key: str, minute: str, add: int = 1, ceiling: int = 3) -> CounterUpdate:
    return CounterUpdate(
        key,
        {"minute": minute, "period": "2025-01"},
        (
            Counter("requests", 1, "minute", ceiling),
            Counter("spend", add, "period", 100),
            Counter("open", 1, None, 50),
        ),
    )


def test_admitted_up_to_the_ceiling_then_refused_with_the_counts_found(
    stores: list[CounterStore],
) -> None:
    key = uuid.uuid4().hex

    async def main() -> list[tuple[bool, int]]:
        results = []
        for _ in range(4):
            counted = await stores[0].update(admission(key, "1"))
            results.append((counted.applied, counted.values["requests"]))
        return results

    assert asyncio.run(main()) == [(True, 1), (True, 2), (True, 3), (False, 3)]


def test_a_new_window_counts_from_zero_and_an_unwindowed_counter_carries_on(
    stores: list[CounterStore],
) -> None:
    key = uuid.uuid4().hex

    async def main() -> list[dict[str, int]]:
        for _ in range(3):
            await stores[0].update(admission(key, "1"))
        refused = await stores[1].update(admission(key, "1"))
        next_minute = await stores[1].update(admission(key, "2"))
        return [dict(refused.values), dict(next_minute.values)]

    refused, next_minute = asyncio.run(main())

    assert refused == {"requests": 3, "spend": 3, "open": 3}
    assert next_minute == {"requests": 1, "spend": 4, "open": 4}


def test_settlement_adjusts_only_counters_whose_window_is_still_the_reservations(
    stores: list[CounterStore],
) -> None:
    key = uuid.uuid4().hex

    def settlement(minute: str) -> CounterUpdate:
        return CounterUpdate(
            key,
            {"minute": minute, "period": "2025-01"},
            (
                Counter("requests", -1, "minute"),
                Counter("spend", -1, "period"),
                Counter("open", -1),
            ),
            settle=True,
        )

    async def main() -> dict[str, int]:
        await stores[0].update(admission(key, "1", add=5))
        await stores[0].update(admission(key, "2", add=5))  # the minute moved on
        await stores[1].update(settlement("1"))  # a reservation of minute 1 settles
        return dict((await stores[0].update(admission(key, "2", add=0))).values)

    # requests of minute 2 untouched by minute 1's settlement; spend and open adjusted.
    assert asyncio.run(main()) == {"requests": 2, "spend": 9, "open": 2}


def test_concurrent_admissions_never_pass_the_ceiling(stores: list[CounterStore]) -> None:
    key = uuid.uuid4().hex

    async def main() -> int:
        updates = [stores[i % 2].update(admission(key, "1", ceiling=10)) for i in range(40)]
        return sum(counted.applied for counted in await asyncio.gather(*updates))

    assert asyncio.run(main()) == 10


def test_the_ledger_adds_up_per_tenant_day_and_model(stores: list[CounterStore]) -> None:
    tenant = uuid.uuid4().hex
    counts = {"requests": 1, "input_tokens": 10, "output_tokens": 5, "cost": 7}

    async def main() -> list[tuple[str, str, dict[str, int]]]:
        await stores[0].record(tenant, "2025-01-01", "m", counts)
        await stores[1].record(tenant, "2025-01-01", "m", counts)
        await stores[0].record(tenant, "2025-01-02", "m#2", counts)
        await stores[0].record(tenant, "2025-01-03", "m", counts)
        await stores[0].record("someone else", "2025-01-01", "m", counts)
        rows = await stores[1].ledger(tenant, "2025-01-01", "2025-01-02")
        return [(r.day, r.model, dict(r.counts)) for r in rows]

    zero = {"cache_read_tokens": 0, "cache_write_tokens": 0}
    assert asyncio.run(main()) == [
        (
            "2025-01-01",
            "m",
            {"requests": 2, "input_tokens": 20, "output_tokens": 10, "cost": 14} | zero,
        ),
        ("2025-01-02", "m#2", counts | zero),
    ]


def test_processes_opening_a_new_file_at_once_all_admit(tmp_path: Path) -> None:
    # GIVEN two handles on a file that does not exist yet, as two processes starting
    # together see it (turning a new file to WAL mode once failed one of them)
    async def first_admissions(path: Path) -> list[Counted | BaseException]:
        stores = [SqliteCounters(path) for _ in range(2)]
        updates = [stores[i % 2].update(admission("k", "1", ceiling=10)) for i in range(4)]
        return await asyncio.gather(*updates, return_exceptions=True)

    # WHEN their first admissions race, fifty times over
    outcomes = [asyncio.run(first_admissions(tmp_path / f"{n}.sqlite3")) for n in range(50)]

    # THEN every admission was counted
    failures = [o for run in outcomes for o in run if isinstance(o, BaseException)]
    assert failures == []
