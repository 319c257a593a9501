"""The three stores behind one interface: what is put is got until its lifetime ends;
each stays within its bounds, and a failure is a `StoreError`."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from gateway.storage.memory import MemoryStore
from gateway.storage.sqlite import SqliteStore
from gateway.storage.store import Store, StoredEntry, StoreError
from tests.support.dynamodb import REGION, create_cache_table

TABLE = "cache"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], Store]]:
    for name, value in {
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        create_cache_table(None, TABLE)
        from gateway.storage.dynamodb import DynamoDbStore

        yield lambda: DynamoDbStore(TABLE)


@pytest.fixture(params=["memory", "sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "memory":
        return MemoryStore()
    if request.param == "sqlite":
        return SqliteStore(tmp_path / "cache.sqlite3")
    factory: Callable[[], Store] = request.getfixturevalue("dynamodb")
    return factory()


def key(n: int) -> bytes:
    return n.to_bytes(32, "big")


def test_what_is_put_is_got_and_replaced(store: Store) -> None:
    async def run() -> None:
        now = time.time()
        assert await store.get(key(1)) is None
        await store.put(key(1), StoredEntry(b"\x00first", now), 60)
        await store.put(key(2), StoredEntry(b"other", now), 60)
        assert await store.get(key(1)) == StoredEntry(b"\x00first", now)
        await store.put(key(1), StoredEntry(b"second", now + 1), 60)
        assert await store.get(key(1)) == StoredEntry(b"second", now + 1)
        assert await store.get(key(2)) == StoredEntry(b"other", now)

    asyncio.run(run())


def test_an_expired_entry_is_not_got(store: Store) -> None:
    async def run() -> None:
        await store.put(key(1), StoredEntry(b"old", time.time() - 10), 5)
        assert await store.get(key(1)) is None

    asyncio.run(run())


def test_memory_drops_the_least_recently_used_beyond_its_size() -> None:
    store = MemoryStore(max_bytes=1000)

    async def run() -> list[bool]:
        now = time.time()
        for n in (1, 2):
            await store.put(key(n), StoredEntry(b"x" * 400, now), 60)
        await store.get(key(1))  # 1 is now more recent than 2
        await store.put(key(3), StoredEntry(b"x" * 400, now), 60)
        return [await store.get(key(n)) is not None for n in (1, 2, 3)]

    assert asyncio.run(run()) == [True, False, True]


def test_sqlite_stays_within_its_size_and_keeps_storing(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    limit = 256 * 1024
    store = SqliteStore(path, max_bytes=limit)

    async def run() -> bool:
        for n in range(200):
            entry = StoredEntry(os.urandom(10_000), time.time())
            await store.put(key(n), entry, 60 + n)
        return await store.get(key(199)) is not None

    assert asyncio.run(run())
    assert path.stat().st_size <= limit


def test_sqlite_refuses_a_file_others_may_read(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    path.touch()
    path.chmod(0o640)

    with pytest.raises(StoreError, match="open to others"):
        asyncio.run(SqliteStore(path).get(key(1)))


def test_sqlite_that_cannot_be_opened_fails_with_a_store_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "missing" / "cache.sqlite3")

    with pytest.raises(StoreError):
        asyncio.run(store.get(key(1)))
    with pytest.raises(StoreError):
        asyncio.run(store.put(key(1), StoredEntry(b"x", time.time()), 60))


def test_dynamodb_refuses_an_item_over_its_limit(dynamodb: Callable[[], Store]) -> None:
    store = dynamodb()
    entry = StoredEntry(os.urandom(410_000), time.time())

    with pytest.raises(StoreError, match="put_item failed: ValidationException"):
        asyncio.run(store.put(key(1), entry, 60))
    assert store.max_entry_bytes < 400_000  # what the cache checks before it puts


def test_dynamodb_without_the_table_fails_with_a_store_error(
    dynamodb: Callable[[], Store],
) -> None:
    from gateway.storage.dynamodb import DynamoDbStore

    with pytest.raises(StoreError, match="ResourceNotFoundException"):
        asyncio.run(DynamoDbStore("no-such-table").get(key(1)))
