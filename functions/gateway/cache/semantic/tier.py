"""The semantic tier as the response cache uses it: one probe per eligible request."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from gateway.cache.report import CacheReport
from gateway.cache.semantic.embedding import StaticEmbedding
from gateway.cache.semantic.index import SemanticIndex
from gateway.cache.semantic.question import Question, question
from gateway.cache.semantic.verify import Text, verify
from gateway.storage.store import Store

THRESHOLD = 0.75
"""The similarity a candidate needs to be verified at all. Tuned on the development
pairs: the least similar paraphrase that verification accepts scores 0.79; near-misses
score up to 1.00, so this bound only saves work, verification is what refuses them."""
CANDIDATES = 3
"""The nearest candidates verified, nearest first; the first that passes is the hit."""


class SemanticTier:
    """Loads the embedding table: built at start only when a route turns the tier on."""

    def __init__(self, store: Store, hash_key: bytes, clock: Callable[[], float]) -> None:
        self.embedding = StaticEmbedding()
        self.index = SemanticIndex(store, clock)
        self._hash_key = hash_key

    def probe(self, tenant_id: str, body: dict[str, Any], report: CacheReport) -> SemanticProbe:
        asked = question(tenant_id, body, self._hash_key)
        if asked is None:
            report.semantic = "ineligible"
        return SemanticProbe(self, asked, report)


class SemanticProbe:
    """One request's use of the tier: a lookup, then perhaps the question's vector stored
    beside its answer."""

    def __init__(self, tier: SemanticTier, asked: Question | None, report: CacheReport) -> None:
        self._tier = tier
        self._asked = asked
        self._report = report
        self._vector: bytes | None = None

    async def lookup(self, ttl_seconds: int) -> tuple[bytes, float] | None:
        """The exact-tier key of a verified paraphrase's answer, and its similarity;
        raises `StoreError` or `CorruptData` (the caller's miss)."""
        if self._asked is None:
            return None
        started = time.perf_counter()
        try:
            neighbours = await self._tier.index.nearest(
                self._asked.partition, self._embed(), ttl_seconds, THRESHOLD, CANDIDATES
            )
            asked = Text(self._asked.text)
            for neighbour in neighbours:
                reason = verify(Text(neighbour.text), asked)
                if reason is None:
                    return neighbour.answer_key, neighbour.similarity
                self._report.semantic_rejections[reason] = (
                    self._report.semantic_rejections.get(reason, 0) + 1
                )
            return None
        finally:
            self._report.semantic_lookup_ms = (time.perf_counter() - started) * 1000

    async def add(self, answer_key: bytes, ttl_seconds: int, owner: bytes) -> None:
        """Raises `StoreError`."""
        if self._asked is None:
            return
        await self._tier.index.add(
            self._asked.partition, self._embed(), self._asked.text, answer_key, ttl_seconds, owner
        )

    def _embed(self) -> bytes:
        if self._vector is None:
            assert self._asked is not None
            self._vector = self._tier.embedding.embed(self._asked.text)
        return self._vector
