"""The gateway's narrow wrappers around LiteLLM: the provider stream read through one
iterator, so that no chunk outlives its turn (`OneIterator`), no cost computed for a
stream before it is read (`skip_cost_of_unread_streams`), and nothing kept of LiteLLM's
import that it never reads (`release_import_leftovers`)."""

from __future__ import annotations

import asyncio
import gc
import types
import weakref
from collections.abc import AsyncIterator
from typing import Any

from gateway.providers.litellm_internals import OneIterator, skip_cost_of_unread_streams
from gateway.providers.litellm_provider import _litellm


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


def test_only_the_cost_of_an_unread_stream_is_skipped() -> None:
    _litellm()  # first: it configures LiteLLM before LiteLLM's import reads its settings
    from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper

    calls: list[object] = []

    def calculate(**kwargs: Any) -> float:
        calls.append(kwargs["response_object"])
        return 0.5

    module = types.ModuleType("litellm_stand_in")
    module.response_cost_calculator = calculate  # type: ignore[attr-defined]
    skip_cost_of_unread_streams(module)
    skip_cost_of_unread_streams(module)  # once only
    priced = module.response_cost_calculator
    unread = CustomStreamWrapper.__new__(CustomStreamWrapper)
    assert priced(response_object=unread, model="openai/x") is None
    answer = object()
    assert priced(response_object=answer, model="openai/x") == 0.5
    assert calls == [answer]


def test_litellm_s_parsed_claude_tokenizer_is_released_and_its_tokenizer_still_counts() -> None:
    litellm = _litellm()

    assert not hasattr(litellm.utils, "json_data")  # 13 MB of dicts nothing reads
    assert litellm.token_counter(model="claude-2.1", text="hello world") == 2
