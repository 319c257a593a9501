"""A provider chunk stream that a test feeds by hand, for the stream supervisors."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.core.chunks import Chunk, ChunkStream

_END = object()


class FedStream(ChunkStream):
    """A `ChunkStream` that yields what the test puts in, when it puts it.

    It records when each chunk was handed out (loop time) and whether, and when, the
    gateway closed it: that is how the tests see an upstream request being cancelled.
    """

    def __init__(self, *chunks: Chunk) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self.handed_at: list[float] = []
        self.closed = asyncio.Event()
        self.closed_at: float | None = None
        for chunk in chunks:
            self.put(chunk)

    def put(self, chunk: Chunk) -> None:
        self._queue.put_nowait(chunk)

    def fail(self, error: BaseException) -> None:
        """The next read raises `error` (after the chunks already put)."""
        self._queue.put_nowait(error)

    def end(self) -> None:
        self._queue.put_nowait(_END)

    def __aiter__(self) -> FedStream:
        return self

    async def __anext__(self) -> Chunk:
        item = await self._queue.get()
        if item is _END:
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            raise item
        self.handed_at.append(asyncio.get_running_loop().time())
        chunk: Chunk = item
        return chunk

    async def aclose(self) -> None:
        if self.closed_at is None:
            self.closed_at = asyncio.get_running_loop().time()
        self.closed.set()


class BurstStream(FedStream):
    """A stream that says when its next chunk is already in hand (`ready()`)."""

    def ready(self) -> bool:
        return not self._queue.empty()


def text_chunk(text: str, finish: str | None = None) -> Chunk:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}
