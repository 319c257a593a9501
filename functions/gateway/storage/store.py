"""The storage interface: opaque bytes under a key, with a lifetime.

A store knows nothing of requests, tenants or chunks: it keeps what it is given under a
digest and hands it back until the lifetime ends. The response cache and the Responses
state use it under keys of their own; usage counters and a semantic tier's answers can.
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


class Store(Protocol):
    max_entry_bytes: int
    """The largest `data` this store accepts; its users skip larger entries."""

    async def get(self, key: bytes) -> StoredEntry | None:
        """The live entry stored under `key`, or None; raises `StoreError`."""
        ...

    async def put(self, key: bytes, entry: StoredEntry, ttl_seconds: int) -> None:
        """Store `entry` under `key` for `ttl_seconds` (replacing any); raises `StoreError`.

        Returns once the entry is stored: on Lambda nothing may run after the response.
        """
        ...
