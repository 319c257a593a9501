"""How LiteLLM's stream wrapper reads the provider stream: through one iterator, so that
no chunk outlives its turn (see `OneIterator`)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator
from typing import Any

from gateway.providers.litellm_provider import OneIterator


class Item:
    def __init__(self, n: int) -> None:
        self.n = n


class SdkStream:
    """Shaped like the `openai` SDK's `AsyncStream`: `__aiter__` is an async generator
    over one underlying iterator."""

    def __init__(self, count: int) -> None:
        self._iterator = self._items(count)
        self.started = 0
        self.closed = False

    async def _items(self, count: int) -> AsyncIterator[Item]:
        for n in range(count):
            yield Item(n)

    async def __aiter__(self) -> AsyncIterator[Item]:
        self.started += 1
        async for item in self._iterator:
            yield item

    async def aclose(self) -> None:
        self.closed = True


async def next_as_litellm_reads_it(stream: Any) -> Item:
    """`CustomStreamWrapper.__anext__`: a new `async for`, left after one chunk."""
    async for chunk in stream:
        assert isinstance(chunk, Item)
        return chunk
    raise StopAsyncIteration


def test_each_chunk_is_released_as_soon_as_it_is_passed_on() -> None:
    async def run() -> None:
        inner = SdkStream(50)
        stream = OneIterator(inner)
        gone = []
        for n in range(50):
            item = await next_as_litellm_reads_it(stream)
            assert item.n == n
            gone.append(weakref.ref(item))
            del item
        # No turn of the event loop in between, as in a burst of chunks; the SDK's
        # generator holds the latest chunk until the next is read.
        gc.collect()
        assert [ref() for ref in gone[:-1]] == [None] * 49
        assert inner.started == 1
        await stream.aclose()
        assert inner.closed

    asyncio.run(run())


def test_the_stream_s_own_attributes_are_passed_through() -> None:
    inner = SdkStream(1)
    stream = OneIterator(inner)
    assert stream.closed is False
    assert not hasattr(stream, "response")
