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

from gateway.storage.store import StoredEntry, StoreError

DEFAULT_PATH = Path(tempfile.gettempdir()) / "llm-gateway-cache.sqlite3"
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
"""The file's size limit; when it is reached, the entries closest to expiry go first."""
PURGE_EVERY = 256
"""Expired rows are deleted once every this many writes."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key BLOB PRIMARY KEY,
    data BLOB NOT NULL,
    stored_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_expires_at ON entries (expires_at);
"""


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


class SqliteStore:
    """The file is opened on first use: after a SnapStart restore, not before."""

    max_entry_bytes = 1024 * 1024

    def __init__(self, path: Path = DEFAULT_PATH, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._path = path
        self._max_bytes = max_bytes
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

    async def put(self, key: bytes, entry: StoredEntry, ttl_seconds: int) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._put, key, entry, ttl_seconds)

    def _put(self, key: bytes, entry: StoredEntry, ttl_seconds: int) -> None:
        """On the writer thread."""
        row = (key, entry.data, entry.stored_at, entry.stored_at + ttl_seconds)
        try:
            if self._writer is None:
                self._writer = self._connect(busy_timeout_ms=1000)
            self._writes += 1
            if self._writes % PURGE_EVERY == 0:
                self._writer.execute("DELETE FROM entries WHERE expires_at <= ?", (time.time(),))
            try:
                self._writer.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)", row)
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode != sqlite3.SQLITE_FULL:
                    raise
                self._make_room()
                self._writer.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)", row)
        except sqlite3.Error as error:
            raise StoreError(f"SQLite write failed: {error}") from None

    def _make_room(self) -> None:
        """The file is at its limit: drop what has expired and a quarter of the rest."""
        assert self._writer is not None
        self._writer.execute("DELETE FROM entries WHERE expires_at <= ?", (time.time(),))
        self._writer.execute(
            "DELETE FROM entries WHERE key IN (SELECT key FROM entries ORDER BY expires_at"
            " LIMIT (SELECT count(*) / 4 + 1 FROM entries))"
        )

    def _connect(self, busy_timeout_ms: int) -> sqlite3.Connection:
        with self._opening:  # the reader and the writer may open at once
            _private_file(self._path)
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            connection.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            page_size = connection.execute("PRAGMA page_size").fetchone()[0]
            connection.execute(f"PRAGMA max_page_count = {self._max_bytes // page_size}")
            connection.executescript(_SCHEMA)
            return connection
