"""Recording keeps an answer only when the provider finished it, and hands it over before
the end of the stream is reported; replaying yields the stored chunks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from gateway.cache.streams import RecordingStream, ReplayStream
from gateway.core.chunks import Chunk, ChunkStream
from gateway.core.usage import NO_USAGE
from gateway.errors import UpstreamFailed

TEXT = {"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]}
FINISH = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
USAGE = {"choices": [], "usage": {**NO_USAGE, "input_tokens": 2, "output_tokens": 1}}


class Upstream(ChunkStream):
    """A provider stream from a list; an exception in the list is raised in its place."""

    def __init__(self, items: list[Any], events: list[str]) -> None:
        self._items = iter(items)
        self._events = events

    def __aiter__(self) -> Upstream:
        return self

    async def __anext__(self) -> Chunk:
        item = next(self._items, None)
        if item is None:
            self._events.append("end")
            raise StopAsyncIteration
        if isinstance(item, Exception):
            raise item
        return dict(item)

    def ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        self._events.append("closed")


def record(
    items: list[Any], consume: Callable[[RecordingStream], Any], max_bytes: int = 10_000
) -> tuple[list[str], list[list[bytes] | None]]:
    events: list[str] = []
    stored: list[list[bytes] | None] = []

    async def on_answer(parts: list[bytes] | None) -> None:
        await asyncio.sleep(0)
        events.append("stored")
        stored.append(parts)

    async def run() -> None:
        stream = RecordingStream(Upstream(items, events), on_answer, max_bytes)
        try:
            await consume(stream)
        finally:
            await stream.aclose()
        events.append("reported end")

    asyncio.run(run())
    return events, stored


async def read_all(stream: RecordingStream) -> None:
    async for chunk in stream:
        chunk.pop("usage", None)  # as the stream formats do, after the recording
        chunk["mutated"] = True


def test_a_finished_answer_is_stored_before_the_end_is_reported() -> None:
    events, stored = record([TEXT, FINISH, USAGE], read_all)

    assert events == ["end", "stored", "closed", "reported end"]
    assert stored == [[orjson.dumps(c) for c in (TEXT, FINISH, USAGE)]]


@pytest.mark.parametrize(
    "items",
    [
        pytest.param([TEXT], id="no finish_reason"),
        pytest.param([TEXT, FINISH, UpstreamFailed("broke off")], id="error after finish"),
        pytest.param([TEXT, UpstreamFailed("broke off")], id="error before finish"),
    ],
)
def test_an_unfinished_answer_is_not_stored(items: list[Any]) -> None:
    fails = isinstance(items[-1], Exception)

    async def read(stream: RecordingStream) -> None:
        with pytest.raises(UpstreamFailed) if fails else contextlib.nullcontext():
            await read_all(stream)

    _, stored = record(items, read)

    assert stored == []


def test_a_stream_closed_before_its_end_is_not_stored() -> None:
    """What a client disconnect, an idle timeout or the deadline does: stop reading."""

    async def read_two(stream: RecordingStream) -> None:
        await anext(stream)
        await anext(stream)  # the finish_reason has come, the end has not

    events, stored = record([TEXT, FINISH, USAGE], read_two)

    assert stored == []
    assert "stored" not in events


def test_an_answer_over_the_limit_is_reported_as_none() -> None:
    _, stored = record([TEXT] * 10 + [FINISH], read_all, max_bytes=200)

    assert stored == [None]


def test_replay_yields_the_chunks_all_ready() -> None:
    async def run() -> list[Chunk]:
        stream = ReplayStream([TEXT, FINISH])
        assert stream.ready()
        return [chunk async for chunk in stream]

    assert asyncio.run(run()) == [TEXT, FINISH]
