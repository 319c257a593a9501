"""The three stores behind one interface: what is put is got until its lifetime ends;
each stays within its bounds, and a failure is a `StoreError`."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from gateway.storage.memory import MemoryStore
from gateway.storage.packed import CorruptData, TooLarge, pack, unpack
from gateway.storage.sqlite import SqliteStore
from gateway.storage.store import OwnerBounds, Store, StoredEntry, StoreError
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


OWNER = b"owner-1"


def key(n: int) -> bytes:
    return n.to_bytes(32, "big")


def test_what_is_put_is_got_and_replaced(store: Store) -> None:
    async def run() -> None:
        now = time.time()
        assert await store.get(key(1)) is None
        await store.put(key(1), StoredEntry(b"\x00first", now), 60, owner=OWNER)
        await store.put(key(2), StoredEntry(b"other", now), 60, owner=OWNER)
        assert await store.get(key(1)) == StoredEntry(b"\x00first", now)
        await store.put(key(1), StoredEntry(b"second", now + 1), 60, owner=OWNER)
        assert await store.get(key(1)) == StoredEntry(b"second", now + 1)
        assert await store.get(key(2)) == StoredEntry(b"other", now)

    asyncio.run(run())


def test_an_expired_entry_is_not_got(store: Store) -> None:
    async def run() -> None:
        await store.put(key(1), StoredEntry(b"old", time.time() - 10), 5, owner=OWNER)
        assert await store.get(key(1)) is None

    asyncio.run(run())


def test_memory_drops_the_least_recently_used_beyond_its_size() -> None:
    store = MemoryStore(max_bytes=1000)

    async def run() -> list[bool]:
        now = time.time()
        for n in (1, 2):
            await store.put(key(n), StoredEntry(b"x" * 400, now), 60, owner=OWNER)
        await store.get(key(1))  # 1 is now more recent than 2
        await store.put(key(3), StoredEntry(b"x" * 400, now), 60, owner=OWNER)
        return [await store.get(key(n)) is not None for n in (1, 2, 3)]

    assert asyncio.run(run()) == [True, False, True]


def test_sqlite_stays_within_its_size_and_keeps_storing(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    limit = 256 * 1024
    store = SqliteStore(path, max_bytes=limit)

    async def run() -> bool:
        for n in range(200):
            entry = StoredEntry(os.urandom(10_000), time.time())
            await store.put(key(n), entry, 60 + n, owner=OWNER)
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
        asyncio.run(store.put(key(1), StoredEntry(b"x", time.time()), 60, owner=OWNER))


def test_dynamodb_refuses_an_item_over_its_limit(dynamodb: Callable[[], Store]) -> None:
    store = dynamodb()
    entry = StoredEntry(os.urandom(410_000), time.time())

    with pytest.raises(StoreError, match="put_item failed: ValidationException"):
        asyncio.run(store.put(key(1), entry, 60, owner=OWNER))
    assert store.max_entry_bytes < 400_000  # what the cache checks before it puts


def test_dynamodb_without_the_table_fails_with_a_store_error(
    dynamodb: Callable[[], Store],
) -> None:
    from gateway.storage.dynamodb import DynamoDbStore

    with pytest.raises(StoreError, match="ResourceNotFoundException"):
        asyncio.run(DynamoDbStore("no-such-table").get(key(1)))


# Per-owner bounds: an owner makes room from its own entries, never from another's.

OTHER = b"owner-2"


@pytest.fixture(params=["memory", "sqlite"])
def embedded(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Store]:
    """An embedded store of the given size and owner bounds."""

    def make(max_bytes: int, bounds: OwnerBounds) -> Store:
        if request.param == "memory":
            return MemoryStore(max_bytes, bounds)
        return SqliteStore(tmp_path / "cache.sqlite3", max_bytes, bounds)

    return make


def present(store: Store, keys: range) -> list[int]:
    async def run() -> list[int]:
        return [n for n in keys if await store.get(key(n)) is not None]

    return asyncio.run(run())


def fill(store: Store, keys: range, owner: bytes, size: int, stored_at: float = 0.0) -> None:
    async def run() -> None:
        for n in keys:
            entry = StoredEntry(os.urandom(size), (stored_at or time.time()) + n)
            await store.put(key(n), entry, 3600, owner=owner)

    asyncio.run(run())


def test_an_owner_at_its_byte_bound_drops_its_own_oldest(
    embedded: Callable[..., Store],
) -> None:
    store = embedded(64 * 1024 * 1024, OwnerBounds(max_bytes=50_000, max_entries=1000))
    fill(store, range(0, 3), OTHER, 10_000)
    fill(store, range(10, 20), OWNER, 10_000)  # 100,000 bytes: twice its bound

    assert present(store, range(0, 3)) == [0, 1, 2]
    assert present(store, range(10, 20)) == [15, 16, 17, 18, 19]


def test_an_owner_at_its_entry_bound_drops_its_own_oldest(
    embedded: Callable[..., Store],
) -> None:
    store = embedded(64 * 1024 * 1024, OwnerBounds(max_bytes=2**30, max_entries=4))
    fill(store, range(0, 2), OTHER, 10)
    fill(store, range(10, 20), OWNER, 10)

    assert present(store, range(0, 2)) == [0, 1]
    assert present(store, range(10, 20)) == [16, 17, 18, 19]


def test_a_full_store_drops_the_writers_oldest_or_refuses_never_anothers(
    embedded: Callable[..., Store],
) -> None:
    """Owners whose bounds together exceed the store: when it is full, a write makes room
    from its owner's own oldest entries; an owner with too little to drop is refused,
    and keeps what it had."""
    store = embedded(2 * 1024 * 1024, OwnerBounds(max_bytes=2**30, max_entries=1000))
    fill(store, range(0, 2), OTHER, 100_000)
    fill(store, range(10, 60), OWNER, 100_000)  # 5 MB into a 2 MiB store

    assert present(store, range(0, 2)) == [0, 1]
    assert 59 in present(store, range(10, 60))
    with pytest.raises(StoreError, match="full"):
        fill(store, range(2, 3), OTHER, 900_000)
    assert present(store, range(0, 3)) == [0, 1]


def test_sqlite_bounds_an_owner_across_stores_on_one_file(tmp_path: Path) -> None:
    """The cache and the stored responses share the default file: an owner's bound
    covers what it keeps through both, counted in the file itself."""
    bounds = OwnerBounds(max_bytes=50_000, max_entries=1000)
    cache = SqliteStore(tmp_path / "cache.sqlite3", bounds=bounds)
    responses = SqliteStore(tmp_path / "cache.sqlite3", bounds=bounds)
    fill(responses, range(0, 3), OWNER, 10_000)
    fill(cache, range(10, 14), OWNER, 10_000, stored_at=time.time() + 100)

    assert present(cache, range(0, 14)) == [2, 10, 11, 12, 13]
    with sqlite3.connect(tmp_path / "cache.sqlite3") as db:
        assert db.execute("SELECT bytes, entries FROM owners").fetchall() == [(50_000, 5)]


def test_sqlite_makes_a_file_of_an_older_layout_anew(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE entries (key BLOB PRIMARY KEY, data BLOB, stored_at REAL)")
        db.execute("INSERT INTO entries VALUES (?, ?, 0)", (key(1), b"old"))
    store = SqliteStore(path)

    assert present(store, range(1, 2)) == []
    fill(store, range(1, 2), OWNER, 10)
    assert present(store, range(1, 2)) == [1]


def test_dynamodb_keeps_each_items_owner(dynamodb: Callable[[], Store]) -> None:
    """Nothing is evicted there (no shared capacity); the owner is kept with each item,
    so a tenant's state can be found and counted."""
    import boto3

    store = dynamodb()
    fill(store, range(1, 2), OWNER, 10)

    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=TABLE, Key={"key": {"B": key(1)}}
    )
    assert item["Item"]["owner"]["B"] == OWNER


# Packed values: bounded as JSON when packed, and while inflating.


def test_a_value_over_its_bound_is_not_packed() -> None:
    with pytest.raises(TooLarge) as refused:
        asyncio.run(pack({"text": "x" * 1000}, max_bytes=1000))

    assert refused.value.size == 1011  # {"text":"x…x"}
    packed = asyncio.run(pack({"text": "x" * 900}, max_bytes=1000))
    assert unpack(packed, max_bytes=1000) == {"text": "x" * 900}


def test_packed_bytes_are_never_inflated_past_the_bound() -> None:
    """A bomb (64 MiB of JSON in 64 KiB) is refused after inflating `max_bytes`."""
    bomb = zlib.compress(b'"' + b"x" * (64 * 1024 * 1024) + b'"', 9)
    tracemalloc.start()
    try:
        with pytest.raises(CorruptData, match="too large"):
            unpack(bomb, max_bytes=1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(bomb) < 128 * 1024
    assert peak < 4 * 1024 * 1024
