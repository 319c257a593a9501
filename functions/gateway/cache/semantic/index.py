"""A partition's vectors, kept as one entry of the exact tier's store.

The entry's key is the partition key, so a lookup is one read wherever the store is:
the SQLite file beside the exact tier's answers, or one DynamoDB item per tenant and
partition that every execution environment reads. It holds the newest `MAX_ENTRIES`
questions of the partition, each with its vector, its wording (for verification), the
exact-tier key of its answer and when it was stored. Two writers racing on a partition
may lose one question: a later miss, never a wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.cache.semantic.embedding import similarity
from gateway.storage.packed import CorruptData, pack, unpack
from gateway.storage.store import Store, StoredEntry

MAX_ENTRIES = 64
"""Questions kept per partition: a lookup compares against all of them (about 4 us each)
and a DynamoDB item stays far below its 400 KB (64 questions of 1,000 characters
compress to about 40 KB)."""
FORMAT = 1


@dataclass(frozen=True, slots=True)
class Neighbour:
    answer_key: bytes
    text: str
    similarity: float


@dataclass(frozen=True, slots=True)
class _Entry:
    vector: bytes
    answer_key: bytes
    text: str
    stored_at: float


class SemanticIndex:
    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock

    async def nearest(
        self, partition: bytes, vector: bytes, ttl_seconds: int, threshold: float, count: int
    ) -> list[Neighbour]:
        """Up to `count` live questions at least `threshold` similar, nearest first; raises
        `StoreError` or `CorruptData`."""
        entries = await self._read(partition, ttl_seconds)
        scored = [
            Neighbour(entry.answer_key, entry.text, similarity(vector, entry.vector))
            for entry in entries
        ]
        near = [n for n in scored if n.similarity >= threshold]
        return sorted(near, key=lambda n: n.similarity, reverse=True)[:count]

    async def add(
        self,
        partition: bytes,
        vector: bytes,
        text: str,
        answer_key: bytes,
        ttl_seconds: int,
        owner: bytes,
    ) -> None:
        """Raises `StoreError` (or `CorruptData` for a damaged entry, which is replaced)."""
        try:
            entries = await self._read(partition, ttl_seconds)
        except CorruptData:
            entries = []
        now = self._clock()
        kept = [e for e in entries if e.answer_key != answer_key][-(MAX_ENTRIES - 1) :]
        kept.append(_Entry(vector, answer_key, text, now))
        data = await pack(
            {
                "v": FORMAT,
                "key": partition.hex(),
                "entries": [
                    [e.vector.hex(), e.answer_key.hex(), e.text, e.stored_at] for e in kept
                ],
            }
        )
        await self._store.put(partition, StoredEntry(data, now), ttl_seconds, owner=owner)

    async def _read(self, partition: bytes, ttl_seconds: int) -> list[_Entry]:
        stored = await self._store.get(partition)
        if stored is None:
            return []
        value = unpack(stored.data)
        if not isinstance(value, dict) or value.get("v") != FORMAT:
            raise CorruptData("another format")
        if value.get("key") != partition.hex() or not isinstance(value.get("entries"), list):
            raise CorruptData("another key")
        oldest = self._clock() - ttl_seconds
        try:
            entries = [
                _Entry(bytes.fromhex(vector), bytes.fromhex(key), str(text), float(at))
                for vector, key, text, at in value["entries"]
            ]
        except (TypeError, ValueError):
            raise CorruptData("an entry of the wrong shape") from None
        return [e for e in entries if e.stored_at > oldest]
