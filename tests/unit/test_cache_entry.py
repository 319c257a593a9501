"""Stored entries: compressed chunk JSON that is replayed only under the key it was
stored under, and only when it is whole and of the right shape."""

from __future__ import annotations

import asyncio
import zlib

import orjson
import pytest

from gateway.cache.entry import decode, encode
from gateway.storage.packed import MAX_DECOMPRESSED_BYTES, CorruptData

KEY = bytes(range(32))
CHUNKS = [
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hé"}}]},
    {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "c"}]}}]},
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    {
        "choices": [],
        "usage": {
            "input_tokens": 1,
            "cache_read_tokens": 4,
            "cache_write_tokens": 3,
            "output_tokens": 2,
        },
    },
]


def stored(chunks: list[object] = CHUNKS, key: bytes = KEY) -> bytes:
    return asyncio.run(encode(key, "route", [orjson.dumps(c) for c in chunks]))


def test_an_entry_round_trips_compressed() -> None:
    data = stored()
    answer = decode(KEY, data)

    assert (answer.model, answer.chunks) == ("route", CHUNKS)
    assert len(data) < len(orjson.dumps(CHUNKS))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00not zlib", id="not zlib"),
        pytest.param(stored()[:-3], id="truncated"),
        pytest.param(stored()[:10] + b"\xff" + stored()[11:], id="a damaged byte"),
        pytest.param(stored(key=bytes(32)), id="stored under another key"),
        pytest.param(zlib.compress(b"[1, 2]"), id="not an entry"),
        pytest.param(zlib.compress(b'{"v": 2, "key": "' + KEY.hex().encode() + b'"}'), id="v2"),
        pytest.param(stored([]), id="no chunks"),
        pytest.param(stored([{"choices": "x"}]), id="choices not a list"),
        pytest.param(stored([{"choices": [{"delta": []}]}]), id="delta not an object"),
        pytest.param(stored([[1]]), id="chunk not an object"),
        pytest.param(zlib.compress(b" " * (MAX_DECOMPRESSED_BYTES + 1)), id="inflates too far"),
    ],
)
def test_anything_else_is_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptData):
        decode(KEY, data)
