"""The storage interface: opaque bytes under a key, with a lifetime and an owner.

A store knows nothing of requests, tenants or chunks: it keeps what it is given under a
digest and hands it back until the lifetime ends. Every entry has an owner (an opaque
digest its user chooses: the gateway's is a keyed digest of the tenant), and a store
bounds what each owner keeps (`OwnerBounds`): an owner at its bound loses its own oldest
entries, never another owner's. The response cache and the Responses state use it under
keys of their own; usage counters and a semantic tier's answers can.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class StoreError(Exception):
    """The store could not be read or written (unreachable, throttled, full, damaged).

    Its users treat it as nothing found or nothing kept: a store failure never fails a
    request.
    """


@dataclass(frozen=True, slots=True)
class StoredEntry:
    data: bytes
    """What the user stored, opaque to the store."""
    stored_at: float
    """Unix time at which it was stored (for `Age` and `Cache-Control: max-age`)."""


@dataclass(frozen=True, slots=True)
class OwnerBounds:
    """What one owner may keep in one store: bytes of entry data, and entries (which
    bound the per-entry overhead of keys and bookkeeping)."""

    max_bytes: int
    max_entries: int


NO_OWNER_BOUNDS = OwnerBounds(max_bytes=2**62, max_entries=2**62)
"""Owners bounded by the store's own size only (the gateway always configures bounds:
`Settings.owner_bounds`)."""


class Store(Protocol):
    max_entry_bytes: int
    """The largest `data` this store accepts; its users skip larger entries."""

    async def get(self, key: bytes) -> StoredEntry | None:
        """The live entry stored under `key`, or None; raises `StoreError`."""
        ...

    async def put(self, key: bytes, entry: StoredEntry, ttl_seconds: int, owner: bytes) -> None:
        """Store `entry` under `key` for `ttl_seconds` (replacing any), as `owner`'s; raises
        `StoreError`.

        An embedded store makes room within `owner`'s bounds, and within its own size, by
        dropping `owner`'s oldest entries only; when that cannot make room, nothing is
        stored (`StoreError`). Returns once the entry is stored: on Lambda nothing may run
        after the response.
        """
        ...
