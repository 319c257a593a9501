"""The response cache as `gateway.completions` uses it: one ticket per request.

A failing store never fails a request: its error is logged as a warning, counted in the
request's `CacheReport`, and the request goes on as a miss (or, when storing, unstored).
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from gateway.cache.backends import open_store
from gateway.cache.entry import CachedAnswer, CorruptEntry, decode, encode
from gateway.cache.policy import Decision, caches_anything, decide
from gateway.cache.store import Store, StoredEntry, StoreError
from gateway.cache.streams import RecordingStream
from gateway.cache_keys import response_cache_key
from gateway.config import Settings
from gateway.context import RequestContext
from gateway.core.chunks import ChunkStream
from gateway.observability import CacheReport, logger

RECORDING_LIMIT_FACTOR = 32
"""A recording is dropped beyond this many times the store's entry limit (uncompressed
chunk JSON compresses about tenfold, so such an answer could not be stored anyway)."""


class ResponseCache:
    """Opens the configured store at start, if any route caches."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._store = open_store(settings.cache_url) if caches_anything(settings) else None

    def ticket(
        self, context: RequestContext, body: dict[str, Any], cache_control: str | None
    ) -> CacheTicket | None:
        """None when the request's route does not cache."""
        if self._store is None:
            return None
        decision = decide(self._settings, context.route, context.tenant, cache_control)
        if decision is None:
            return None
        key = b""
        if decision.read or decision.write:
            tenant_id = context.tenant.tenant_id
            key = response_cache_key(tenant_id, body, self._settings.hash_key)
        return CacheTicket(self._store, key, decision)


class CacheTicket:
    """One request's use of the cache: a lookup, then perhaps a recording."""

    def __init__(self, store: Store, key: bytes, decision: Decision) -> None:
        self._store = store
        self._key = key
        self._decision = decision
        self._age: int | None = None
        self.report = CacheReport(decision.status)

    def headers(self) -> dict[str, str]:
        headers = {"x-gateway-cache": self.report.status}
        if self._age is not None:
            headers["age"] = str(self._age)
        return headers

    async def lookup(self) -> CachedAnswer | None:
        """The stored answer, if the request may have one and one is fresh enough."""
        if not self._decision.read:
            return None
        try:
            stored = await self._store.get(self._key)
            if stored is None:
                return None
            age = max(0.0, time.time() - stored.stored_at)
            max_age = self._decision.max_age
            if max_age is not None and age > max_age:
                return None
            answer = decode(self._key, stored.data)
        except (StoreError, CorruptEntry) as error:
            self._failed("read", error)
            return None
        self.report.status = "hit"
        self._age = int(age)
        return answer

    def record(self, chunks: ChunkStream, served_by: str) -> ChunkStream:
        """`chunks`, recorded to be stored once the provider has finished the answer."""
        if not self._decision.write:
            return chunks
        limit = self._store.max_entry_bytes * RECORDING_LIMIT_FACTOR
        return RecordingStream(chunks, partial(self._store_answer, served_by), limit)

    async def _store_answer(self, served_by: str, chunks: list[bytes] | None) -> None:
        data = None if chunks is None else encode(self._key, served_by, chunks)
        if data is None or len(data) > self._store.max_entry_bytes:
            self.report.too_large = True
            return
        try:
            await self._store.put(
                self._key, StoredEntry(data, time.time()), self._decision.ttl_seconds
            )
        except StoreError as error:
            self._failed("write", error)

    def _failed(self, operation: str, error: Exception) -> None:
        self.report.errors += 1
        logger.warning(
            "response cache unavailable",
            extra={"operation": operation, "error_type": type(error).__name__, "error": str(error)},
        )
