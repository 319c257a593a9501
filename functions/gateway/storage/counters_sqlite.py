"""`sqlite:///path` counters (default: a file in the temp directory): shared by the
processes of one machine; on Lambda, of one execution environment only.

Every update is one `BEGIN IMMEDIATE` transaction (the file's write lock, taken before
reading), so processes sharing the file never both admit against the same count. Runs on
a thread of its own: a commit may wait for the disk, the event loop must not. `sqlite3`
is imported there, on first use: not during a cold start.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import orjson

from gateway.storage.counters import LEDGER_COUNTS, Counted, CounterUpdate, LedgerRow, apply
from gateway.storage.store import StoreError

if TYPE_CHECKING:
    import sqlite3

DEFAULT_PATH = Path(tempfile.gettempdir()) / "llm-gateway-usage.sqlite3"
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, item BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (
    tenant TEXT NOT NULL, day TEXT NOT NULL, model TEXT NOT NULL,
    requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL, cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL, cost INTEGER NOT NULL,
    PRIMARY KEY (tenant, day, model)
);
"""
# The ledger's columns are LEDGER_COUNTS, in its order.
_RECORD = """
INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (tenant, day, model) DO UPDATE SET
    requests = requests + excluded.requests,
    input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
    cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
    cost = cost + excluded.cost
"""
_SELECT = """
SELECT day, model, requests, input_tokens, output_tokens, cache_read_tokens,
    cache_write_tokens, cost
FROM ledger WHERE tenant = ? AND day BETWEEN ? AND ? ORDER BY day, model
"""


class SqliteCounters:
    exact_across_environments = False

    def __init__(self, path: Path = DEFAULT_PATH) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-sqlite")
        self._lock = threading.Lock()

    async def update(self, update: CounterUpdate) -> Counted:
        return await self._run(self._update, update)

    async def record(self, tenant: str, day: str, model: str, counts: Mapping[str, int]) -> None:
        row = (tenant, day, model, *(counts.get(name, 0) for name in LEDGER_COUNTS))
        await self._run(self._write, _RECORD, row)

    async def ledger(self, tenant: str, start: str, end: str) -> list[LedgerRow]:
        return await self._run(self._ledger, tenant, start, end)

    async def _run(self, work: Callable[..., T], *arguments: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, work, *arguments)

    def _update(self, update: CounterUpdate) -> Counted:
        import sqlite3

        try:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE")
            try:
                row = connection.execute(
                    "SELECT item FROM counters WHERE key = ?", (update.key,)
                ).fetchone()
                item = {} if row is None else orjson.loads(row[0])
                counted = apply(item, update)
                if counted.applied:
                    connection.execute(
                        "INSERT OR REPLACE INTO counters VALUES (?, ?)",
                        (update.key, orjson.dumps(item)),
                    )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        except (sqlite3.Error, orjson.JSONDecodeError) as error:
            raise StoreError(f"SQLite counters failed: {error}") from None
        return counted

    def _write(self, statement: str, row: tuple[object, ...]) -> None:
        import sqlite3

        try:
            self._connect().execute(statement, row)
        except sqlite3.Error as error:
            raise StoreError(f"SQLite ledger failed: {error}") from None

    def _ledger(self, tenant: str, start: str, end: str) -> list[LedgerRow]:
        import sqlite3

        try:
            rows = self._connect().execute(_SELECT, (tenant, start, end))
            return [
                LedgerRow(tenant, day, model, dict(zip(LEDGER_COUNTS, counts, strict=True)))
                for day, model, *counts in rows
            ]
        except sqlite3.Error as error:
            raise StoreError(f"SQLite ledger failed: {error}") from None

    def _connect(self) -> sqlite3.Connection:
        """On the store's thread; opened on first use (after a SnapStart restore)."""
        from gateway.storage.sqlite import open_file

        with self._lock:
            if self._connection is None:
                # Waits its turn for the write lock rather than fail an admission: one
                # environment's requests queue here for milliseconds, more under heavy load.
                connection = open_file(self._path, busy_timeout_ms=10_000)
                connection.executescript(_SCHEMA)
                self._connection = connection
            return self._connection
