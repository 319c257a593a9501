"""Stored responses in the response cache's stores (`gateway.cache`: memory, SQLite,
DynamoDB), through the small `ByteStore` interface the Responses state uses.

The store URL has the response cache's syntax (`memory://`, `sqlite:///path`,
`dynamodb://TABLE`). A store that fails is handled as the cache handles it: logged, a
read finds nothing and a write is skipped, and the request goes on.
"""

from __future__ import annotations

import logging
import time

from gateway.cache.backends import open_store
from gateway.cache.store import Store, StoredEntry, StoreError
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


def open_response_state(url: str | None, hash_key: bytes) -> ResponseState | None:
    """The state for `url` (`GATEWAY_RESPONSES_STORE_URL`: empty for the default store, a
    SQLite file in the temp directory); None (nothing is stored) when turned off."""
    if url is None:
        return None
    return ResponseState(CacheByteStore(open_store(url, "GATEWAY_RESPONSES_STORE_URL")), hash_key)
