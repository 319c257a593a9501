"""`sqlite:///path` (default: a file in the temp directory): shared by this machine's
processes; on Lambda, `/tmp` of one execution environment.

Reads run inline on the event loop: a primary-key lookup takes about 10 µs, a tenth of a
hop to a thread. Writes run on one thread of their own with their own connection: a
commit that checkpoints the write-ahead log waits for the disk (milliseconds), and the
event loop must not. In WAL mode readers never wait for that writer.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gateway.storage.store import NO_OWNER_BOUNDS, OwnerBounds, StoredEntry, StoreError

DEFAULT_PATH = Path(tempfile.gettempdir()) / "llm-gateway-cache.sqlite3"
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
"""The file's size limit; when it is reached, the writing owner's oldest entries make
room for its new one (never another owner's)."""
PURGE_EVERY = 256
"""Expired rows are deleted once every this many writes (and when the file is full)."""

_VERSION = 2
"""The schema's `user_version`: a file with another is emptied and made anew (it holds a
cache and 30-day records, nothing that cannot be lost)."""
_SCHEMA = """
BEGIN IMMEDIATE;
DROP TABLE IF EXISTS entries;
DROP TABLE IF EXISTS owners;
CREATE TABLE entries (
    key BLOB PRIMARY KEY,
    data BLOB NOT NULL,
    stored_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    owner BLOB NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX entries_expires_at ON entries (expires_at);
CREATE INDEX entries_owner ON entries (owner, stored_at);
CREATE TABLE owners (
    owner BLOB PRIMARY KEY,
    bytes INTEGER NOT NULL,
    entries INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER entry_added AFTER INSERT ON entries BEGIN
    INSERT INTO owners VALUES (new.owner, new.size, 1) ON CONFLICT (owner)
        DO UPDATE SET bytes = bytes + excluded.bytes, entries = entries + 1;
END;
CREATE TRIGGER entry_dropped AFTER DELETE ON entries BEGIN
    UPDATE owners SET bytes = bytes - old.size, entries = entries - 1 WHERE owner = old.owner;
    DELETE FROM owners WHERE owner = old.owner AND entries = 0;
END;
PRAGMA user_version = 2; -- _VERSION
COMMIT;
"""
"""Each owner's bytes and entries are kept by triggers, in the transaction that adds or
drops an entry, whichever connection or process writes."""


def _private_file(path: Path) -> None:
    """Create `path` readable by this user only, and refuse one that others could
    read or write: stored answers are tenants' data, and the temp directory is shared."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as error:
        raise StoreError(f"cannot open {path}: {error.strerror}") from None
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        raise StoreError(f"{path} belongs to another user or is open to others")


def open_file(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    """A connection to the private file `path` in WAL mode, in autocommit (transactions
    are explicit), that waits up to `busy_timeout_ms` for another writer's lock.

    Turning a new file to WAL takes its lock without SQLite's busy handler: two
    connections opening a fresh file at once would fail one of them with "database is
    locked" (62 times in 300 races on one machine), so that step is retried until the
    same timeout."""
    _private_file(path)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                connection.close()
                raise
            time.sleep(0.005)
    connection.execute("PRAGMA synchronous = NORMAL")
    return connection


class _Full(Exception):
    """The file is at its size limit."""


class SqliteStore:
    """The file is opened on first use: after a SnapStart restore, not before."""

    def __init__(
        self,
        path: Path = DEFAULT_PATH,
        max_bytes: int = DEFAULT_MAX_BYTES,
        bounds: OwnerBounds = NO_OWNER_BOUNDS,
    ) -> None:
        self.max_entry_bytes = min(bounds.max_bytes, 1024 * 1024)
        self._path = path
        self._max_bytes = max_bytes
        self._bounds = bounds
        self._reader: sqlite3.Connection | None = None
        self._writer: sqlite3.Connection | None = None
        self._writes = 0
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-sqlite")
        self._opening = threading.Lock()

    async def get(self, key: bytes) -> StoredEntry | None:
        try:
            if self._reader is None:
                self._reader = self._connect(busy_timeout_ms=50)
            row = self._reader.execute(
                "SELECT data, stored_at FROM entries WHERE key = ? AND expires_at > ?",
                (key, time.time()),
            ).fetchone()
        except sqlite3.Error as error:
            raise StoreError(f"SQLite read failed: {error}") from None
        return None if row is None else StoredEntry(row[0], row[1])

    async def put(self, key: bytes, entry: StoredEntry, ttl_seconds: int, owner: bytes) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._put, key, entry, ttl_seconds, owner)

    def _put(self, key: bytes, entry: StoredEntry, ttl_seconds: int, owner: bytes) -> None:
        """On the writer thread."""
        size = len(entry.data)
        if size > self.max_entry_bytes:
            raise StoreError(f"SQLite store: an entry of {size} bytes is over its limit")
        row = (key, entry.data, entry.stored_at, entry.stored_at + ttl_seconds, owner, size)
        try:
            if self._writer is None:
                self._writer = self._connect(busy_timeout_ms=1000)
            self._writes += 1
            # Within the owner's bounds; when the file is full, after dropping what has
            # expired; then the owner's oldest as large as the entry (pages freed by a
            # deletion are reused), then all of the owner's entries.
            periodic = self._writes % PURGE_EVERY == 0
            for purge, spare in [(periodic, 0), (True, 0), (True, size + 65536), (True, 2**62)]:
                try:
                    self._write(row, purge, spare)
                    return
                except _Full:
                    pass
        except sqlite3.Error as error:
            raise StoreError(f"SQLite write failed: {error}") from None
        raise StoreError("SQLite file full: this owner has too little to drop")

    def _write(
        self, row: tuple[bytes, bytes, float, float, bytes, int], purge: bool, spare: int
    ) -> None:
        """One transaction: drop what expired (if `purge`) and the entry `row` replaces,
        then the owner's oldest until it is within its bounds with `row` and has freed
        `spare` bytes more, and insert `row`. `_Full` (all of it undone) when the file
        has no room."""
        writer = self._writer
        assert writer is not None
        key, owner, size = row[0], row[4], row[5]
        writer.execute("BEGIN IMMEDIATE")
        try:
            if purge:
                writer.execute("DELETE FROM entries WHERE expires_at <= ?", (time.time(),))
            writer.execute("DELETE FROM entries WHERE key = ?", (key,))
            held = writer.execute(
                "SELECT bytes, entries FROM owners WHERE owner = ?", (owner,)
            ).fetchone()
            held_bytes, held_entries = held or (0, 0)
            free_bytes = max(held_bytes + size - self._bounds.max_bytes, min(spare, held_bytes))
            free_entries = held_entries + 1 - self._bounds.max_entries
            if free_bytes > 0 or free_entries > 0:
                self._drop_oldest(owner, free_bytes, free_entries)
            writer.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)", row)
            writer.execute("COMMIT")
        except BaseException as error:
            if writer.in_transaction:
                writer.execute("ROLLBACK")
            if (
                isinstance(error, sqlite3.OperationalError)
                and error.sqlite_errorcode == sqlite3.SQLITE_FULL
            ):
                raise _Full from None
            raise

    def _drop_oldest(self, owner: bytes, free_bytes: int, free_entries: int) -> None:
        """Delete `owner`'s oldest entries: at least `free_bytes` and `free_entries`."""
        assert self._writer is not None
        oldest = self._writer.execute(
            "SELECT key, size FROM entries WHERE owner = ? ORDER BY stored_at", (owner,)
        )
        dropped: list[tuple[bytes]] = []
        for key, size in oldest:
            if free_bytes <= 0 and free_entries <= 0:
                break
            dropped.append((key,))
            free_bytes -= size
            free_entries -= 1
        self._writer.executemany("DELETE FROM entries WHERE key = ?", dropped)

    def _connect(self, busy_timeout_ms: int) -> sqlite3.Connection:
        with self._opening:  # the reader and the writer may open at once
            connection = open_file(self._path, busy_timeout_ms)
            page_size = connection.execute("PRAGMA page_size").fetchone()[0]
            connection.execute(f"PRAGMA max_page_count = {self._max_bytes // page_size}")
            if connection.execute("PRAGMA user_version").fetchone()[0] != _VERSION:
                connection.executescript(_SCHEMA)
            return connection
