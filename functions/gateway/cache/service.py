"""The response cache as `gateway.completions` uses it: one ticket per request.

A failing store never fails a request: the failure is handed to `on_store_failure` (the
caller logs it) and counted in the request's `CacheReport`, and the request goes on as a
miss (or, when storing, unstored). The cache reports through these two and nothing else:
it knows nothing of the request log or metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from gateway.cache.entry import CachedAnswer, decode, encode
from gateway.cache.key import response_cache_key
from gateway.cache.policy import Decision, caches_anything, decide
from gateway.cache.report import CacheReport, StoreFailed, StoreOperation
from gateway.cache.streams import RecordingStream
from gateway.config import ModelRoute, Settings, TenantConfig
from gateway.core.chunks import ChunkStream
from gateway.owner import state_owner
from gateway.storage.backends import open_store
from gateway.storage.packed import CorruptData
from gateway.storage.store import Store, StoredEntry, StoreError

if TYPE_CHECKING:
    from gateway.cache.semantic.tier import SemanticProbe, SemanticTier

RECORDING_LIMIT_FACTOR = 32
"""A recording is dropped beyond this many times the store's entry limit (uncompressed
chunk JSON compresses about tenfold, so such an answer could not be stored anyway)."""

Clock = Callable[[], float]
"""Unix time: when an answer is stored, and how old it is when read."""


class ResponseCache:
    """Opens the configured store at start, if any route caches."""

    def __init__(
        self, settings: Settings, on_store_failure: StoreFailed, clock: Clock = time.time
    ) -> None:
        self._settings = settings
        self._on_store_failure = on_store_failure
        self._clock = clock
        self._store = (
            open_store(settings.cache_url, "GATEWAY_CACHE_URL", settings.owner_bounds)
            if caches_anything(settings)
            else None
        )
        self._semantic: SemanticTier | None = None
        if self._store is not None and any(r.semantic_cache for r in settings.models.values()):
            from gateway.cache.semantic.tier import SemanticTier  # loads the table: only if used

            self._semantic = SemanticTier(self._store, settings.hash_key, clock)

    def ticket(
        self,
        route: ModelRoute,
        tenant: TenantConfig,
        body: dict[str, Any],
        cache_control: str | None,
    ) -> CacheTicket | None:
        """None when the request's route does not cache."""
        if self._store is None:
            return None
        decision = decide(self._settings, route, tenant, cache_control)
        if decision is None:
            return None
        key = owner = b""
        if decision.read or decision.write:
            key = response_cache_key(tenant.tenant_id, body, self._settings.hash_key)
            owner = state_owner(tenant.tenant_id, self._settings.hash_key)
        ticket = CacheTicket(self._store, key, owner, decision, self._on_store_failure, self._clock)
        if (
            self._semantic is not None
            and route.semantic_cache
            and (decision.read or decision.write)
        ):
            ticket.semantic = self._semantic.probe(tenant.tenant_id, body, ticket.report)
        return ticket


class CacheTicket:
    """One request's use of the cache: a lookup, then perhaps a recording."""

    def __init__(
        self,
        store: Store,
        key: bytes,
        owner: bytes,
        decision: Decision,
        on_store_failure: StoreFailed,
        clock: Clock,
    ) -> None:
        self._store = store
        self._key = key
        self._owner = owner
        self._decision = decision
        self._on_store_failure = on_store_failure
        self._clock = clock
        self._age: int | None = None
        self.report = CacheReport(decision.status)
        self.semantic: SemanticProbe | None = None
        """Set when the route uses the semantic tier (`gateway.cache.semantic`)."""

    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {"x-gateway-cache": self.report.status}
        if self.report.match is not None:
            headers["x-gateway-cache-match"] = self.report.match
        if self.report.similarity is not None:
            headers["x-gateway-cache-similarity"] = f"{self.report.similarity:.3f}"
        if self._age is not None:
            headers["age"] = str(self._age)
        return headers

    async def lookup(self) -> CachedAnswer | None:
        """The stored answer, if the request may have one and one is fresh enough: its
        own (exact), else a verified paraphrase's (semantic)."""
        if not self._decision.read:
            return None
        answer = await self._read(self._key)
        if answer is not None:
            self.report.match = "exact"
            return answer
        if self.semantic is None:
            return None
        try:
            found = await self.semantic.lookup(self._decision.ttl_seconds)
        except (StoreError, CorruptData) as error:
            self._failed("read", error)
            return None
        if found is None:
            return None
        answer_key, similarity = found
        answer = await self._read(answer_key)
        if answer is not None:
            self.report.match = "semantic"
            self.report.similarity = similarity
        return answer

    async def _read(self, key: bytes) -> CachedAnswer | None:
        try:
            stored = await self._store.get(key)
            if stored is None:
                return None
            age = max(0.0, self._clock() - stored.stored_at)
            max_age = self._decision.max_age
            if max_age is not None and age > max_age:
                return None
            answer = decode(key, stored.data)
        except (StoreError, CorruptData) as error:
            self._failed("read", error)
            return None
        self.report.status = "hit"
        self._age = int(age)
        return answer

    def record(self, chunks: ChunkStream, served_by: ModelRoute) -> ChunkStream:
        """`chunks`, recorded to be stored once the provider has finished the answer."""
        if not self._decision.write:
            return chunks
        limit = self._store.max_entry_bytes * RECORDING_LIMIT_FACTOR
        return RecordingStream(chunks, partial(self._store_answer, served_by), limit)

    async def _store_answer(self, served_by: ModelRoute, chunks: list[bytes] | None) -> None:
        data = None if chunks is None else await encode(self._key, served_by.name, chunks)
        if data is None or len(data) > self._store.max_entry_bytes:
            self.report.too_large = True
            return
        try:
            await self._store.put(
                self._key,
                StoredEntry(data, self._clock()),
                self._decision.ttl_seconds,
                owner=self._owner,
            )
            if self.semantic is not None:
                await self.semantic.add(self._key, self._decision.ttl_seconds, self._owner)
        except StoreError as error:
            self._failed("write", error)

    def _failed(self, operation: StoreOperation, error: Exception) -> None:
        self.report.errors += 1
        self._on_store_failure(operation, error)
