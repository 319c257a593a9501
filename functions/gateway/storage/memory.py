"""`memory://`: entries in this process only, least recently used dropped first."""

from __future__ import annotations

import time
from collections import OrderedDict

from gateway.storage.store import StoredEntry

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class MemoryStore:
    """A bounded LRU: at most `max_bytes` of entry data (keys and bookkeeping aside)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_entry_bytes = min(max_bytes, 1024 * 1024)
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[bytes, tuple[StoredEntry, float]] = OrderedDict()

    async def get(self, key: bytes) -> StoredEntry | None:
        found = self._entries.get(key)
        if found is None:
            return None
        entry, expires_at = found
        if time.time() >= expires_at:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    async def put(self, key: bytes, entry: StoredEntry, ttl_seconds: int) -> None:
        if key in self._entries:
            self._drop(key)
        self._entries[key] = (entry, entry.stored_at + ttl_seconds)
        self._bytes += len(entry.data)
        while self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: bytes) -> None:
        entry, _ = self._entries.pop(key)
        self._bytes -= len(entry.data)
