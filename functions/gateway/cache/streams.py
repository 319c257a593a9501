"""Chunk streams for the cache: one that records a provider's answer, one that replays it.

Both are ordinary `ChunkStream`s, so every door frames or collects them like a live
stream, with its own fresh id, creation time and usage option.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson

from gateway.core.chunks import Chunk, ChunkStream


class ReplayStream(ChunkStream):
    """A stored answer: every chunk is in hand, so the whole burst goes out in few writes."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self._chunks = iter(chunks)

    async def __anext__(self) -> Chunk:
        try:
            return next(self._chunks)
        except StopIteration:
            raise StopAsyncIteration from None

    def ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        """Nothing to release."""


class RecordingStream(ChunkStream):
    """Passes a provider's chunks on and keeps the JSON of each as it arrives (the stream
    formats change chunks in place after that).

    When the provider ends the stream after a `finish_reason`, `on_answer` gets the copies
    (or None if they outgrew `max_bytes`) and is awaited before the end is reported: the
    entry is stored before the response's last byte, since on Lambda nothing runs after
    it. An error, a disconnect or a deadline ends the stream otherwise (an exception, or
    `aclose()` before the end), and nothing is stored.
    """

    def __init__(
        self,
        chunks: ChunkStream,
        on_answer: Callable[[list[bytes] | None], Awaitable[None]],
        max_bytes: int,
    ) -> None:
        self._chunks = chunks
        self._on_answer = on_answer
        self._max_bytes = max_bytes
        self._parts: list[bytes] | None = []
        self._size = 0
        self._finished = False

    def ready(self) -> bool:
        return self._chunks.ready()

    async def __anext__(self) -> Chunk:
        try:
            chunk = await anext(self._chunks)
        except StopAsyncIteration:
            if self._finished:
                self._finished = False  # once
                parts, self._parts = self._parts, None
                await self._on_answer(parts)
            raise
        if self._parts is not None:
            part = orjson.dumps(chunk)
            self._size += len(part)
            if self._size > self._max_bytes:
                self._parts = None
            else:
                self._parts.append(part)
        if not self._finished:
            self._finished = any(choice.get("finish_reason") for choice in chunk["choices"])
        return chunk

    async def aclose(self) -> None:
        self._finished = False
        await self._chunks.aclose()
