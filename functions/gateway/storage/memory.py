"""`memory://`: entries in this process only, each owner's least recently used dropped
first."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

from gateway.storage.store import NO_OWNER_BOUNDS, OwnerBounds, StoredEntry, StoreError

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
PURGE_EVERY = 256
"""Expired entries are dropped when read, and all of them once every this many writes."""


@dataclass(slots=True)
class _Held:
    entry: StoredEntry
    expires_at: float
    owner: bytes


@dataclass(slots=True)
class _Owner:
    held_bytes: int = 0
    keys: OrderedDict[bytes, None] = field(default_factory=OrderedDict)
    """This owner's keys, least recently used first."""


class MemoryStore:
    """At most `max_bytes` of entry data in all (keys and bookkeeping aside), and at most
    `bounds` for each owner. An owner at its bound, or a put that would take the store
    past `max_bytes`, drops that owner's least recently used entries; if the owner has
    none left to drop, the put is refused."""

    def __init__(
        self, max_bytes: int = DEFAULT_MAX_BYTES, bounds: OwnerBounds = NO_OWNER_BOUNDS
    ) -> None:
        self.max_entry_bytes = min(max_bytes, bounds.max_bytes, 1024 * 1024)
        self._max_bytes = max_bytes
        self._bounds = bounds
        self._bytes = 0
        self._writes = 0
        self._entries: dict[bytes, _Held] = {}
        self._owners: dict[bytes, _Owner] = {}

    async def get(self, key: bytes) -> StoredEntry | None:
        held = self._entries.get(key)
        if held is None:
            return None
        if time.time() >= held.expires_at:
            self._drop(key)
            return None
        self._owners[held.owner].keys.move_to_end(key)
        return held.entry

    async def put(self, key: bytes, entry: StoredEntry, ttl_seconds: int, owner: bytes) -> None:
        size = len(entry.data)
        if size > self.max_entry_bytes:
            raise StoreError(f"memory store: an entry of {size} bytes is over its limit")
        self._writes += 1
        if self._writes % PURGE_EVERY == 0:
            self._purge_expired()
        if key in self._entries:
            self._drop(key)
        mine = self._owners.get(owner) or _Owner()
        if self._max_bytes - self._bytes + mine.held_bytes < size:
            raise StoreError("memory store full: this owner has too little to drop")
        while mine.keys and (
            mine.held_bytes + size > self._bounds.max_bytes
            or len(mine.keys) >= self._bounds.max_entries
            or self._bytes + size > self._max_bytes
        ):
            self._drop(next(iter(mine.keys)))
        self._entries[key] = _Held(entry, entry.stored_at + ttl_seconds, owner)
        mine = self._owners.setdefault(owner, mine)
        mine.keys[key] = None
        mine.held_bytes += size
        self._bytes += size

    def _purge_expired(self) -> None:
        now = time.time()
        for key in [key for key, held in self._entries.items() if now >= held.expires_at]:
            self._drop(key)

    def _drop(self, key: bytes) -> None:
        held = self._entries.pop(key)
        size = len(held.entry.data)
        self._bytes -= size
        owner = self._owners[held.owner]
        owner.held_bytes -= size
        del owner.keys[key]
        if not owner.keys:
            del self._owners[held.owner]
