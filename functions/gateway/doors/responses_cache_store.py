"""Stored responses in the response cache's stores (`gateway.cache`: memory, SQLite,
DynamoDB), through the small `ByteStore` interface the Responses state uses.

The store URL has the response cache's syntax (`memory://`, `sqlite:///path`,
`dynamodb://TABLE`). A store that fails is handled as the cache handles it: logged, a
read finds nothing and a write is skipped, and the request goes on.
"""

from __future__ import annotations

import logging
import time

# The response cache is built on its own branch; these names are its store interface.
from gateway.cache.backends import open_store  # type: ignore[import-not-found,unused-ignore]
from gateway.cache.store import (  # type: ignore[import-not-found,unused-ignore]
    Store,
    StoredEntry,
    StoreError,
)
from gateway.doors.responses_state import ResponseState

log = logging.getLogger(__name__)


class CacheByteStore:
    """A `ByteStore` over a response-cache `Store`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, key: bytes) -> bytes | None:
        try:
            entry = await self._store.get(key)
        except StoreError as error:
            log.warning("stored responses unavailable (read): %s", type(error).__name__)
            return None
        return None if entry is None else bytes(entry.data)

    async def put(self, key: bytes, data: bytes, ttl_seconds: int) -> None:
        if len(data) > self._store.max_entry_bytes:
            log.warning("response not stored: %d bytes is over the store's limit", len(data))
            return
        try:
            await self._store.put(key, StoredEntry(data, time.time()), ttl_seconds)
        except StoreError as error:
            log.warning("stored responses unavailable (write): %s", type(error).__name__)


def open_response_state(url: str, hash_key: bytes) -> ResponseState | None:
    """The state for `url` (`GATEWAY_RESPONSES_STORE_URL`); None (nothing is stored) when
    empty. A bad URL raises `ConfigurationError` at start."""
    if not url:
        return None
    return ResponseState(CacheByteStore(open_store(url)), hash_key)
