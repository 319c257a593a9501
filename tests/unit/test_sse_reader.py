"""The byte-level SSE reader: events split anywhere, any line ending, multi-line data."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import UpstreamFailed
from gateway.providers import sse_reader
from gateway.providers.sse_reader import SSEDataReader, SSEEventReader

STREAM = (
    b": a comment\n\n"
    b'event: message\ndata: {"a": 1}\n\n'
    b'data:{"b": 2}\n\n'
    b"data: line one\ndata: line two\nid: 7\n\n"
    b"retry: 100\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [b'{"a": 1}', b'{"b": 2}', b"line one\nline two", b"[DONE]"]


async def pieces(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def read_all(parts: list[bytes], reader_class: type[SSEDataReader] = SSEDataReader) -> list[bytes]:
    async def run() -> list[bytes]:
        reader = reader_class(pieces(parts))
        out = []
        while (data := await reader.next_data()) is not None:
            out.append(data)
        return out

    return asyncio.run(run())


@given(st.lists(st.integers(0, len(STREAM)), max_size=12), st.sampled_from([b"\n", b"\r\n", b"\r"]))
def test_events_are_found_wherever_the_bytes_are_split(cuts: list[int], newline: bytes) -> None:
    stream = STREAM.replace(b"\n", newline)
    bounds = [0, *sorted(cuts), len(stream)]
    parts = [stream[a:b] for a, b in itertools.pairwise(bounds)]

    assert read_all(parts) == EXPECTED


@given(st.lists(st.integers(0, len(STREAM)), max_size=12))
def test_whole_events_are_passed_on_as_they_came_wherever_the_bytes_are_split(
    cuts: list[int],
) -> None:
    bounds = [0, *sorted(cuts), len(STREAM)]
    parts = [STREAM[a:b] for a, b in itertools.pairwise(bounds)]

    assert b"".join(read_all(parts, SSEEventReader)) == STREAM


def test_an_unfinished_last_event_is_not_delivered() -> None:
    assert read_all([b"data: 1\n\ndata: 2"]) == [b"1"]


def test_an_endless_event_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse_reader, "MAX_EVENT_BYTES", 100)
    with pytest.raises(UpstreamFailed, match="too large"):
        read_all([b"data: " + b"x" * 60, b"x" * 60])


def test_an_event_trickled_in_small_reads_costs_time_in_proportion_to_its_size() -> None:
    # One 8 MiB event in 4 KiB reads: re-searching the whole unfinished event on every read
    # took about 8 s of CPU; read once, it takes milliseconds. The bound is generous.
    size, step = 8 * 1024 * 1024 - 64, 4096
    event = b"data: " + b"x" * size + b"\n\n"
    parts = [event[i : i + step] for i in range(0, len(event), step)]

    started = time.process_time()
    assert read_all(parts) == [b"x" * size]
    assert time.process_time() - started < 1.0
