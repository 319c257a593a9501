"""A cached answer as stored: its chunk sequence as JSON, compressed with zlib.

The bytes carry a format version and the full key they were stored under, checked on
every read, so an entry that is damaged (`storage.packed`), from another format or under
the wrong key is never replayed: `CorruptData` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from gateway.core.chunk_shape import is_chunk
from gateway.core.chunks import Chunk
from gateway.storage.packed import CorruptData, deflate, unpack

FORMAT = 2
"""2: usage is the gateway's own `Usage` (cache reads and writes apart), no longer OpenAI's."""


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    model: str
    """The route that produced the answer (a fallback, perhaps)."""
    chunks: list[Chunk]
    """Chunks as the provider sent them (see `gateway.core.chunks`), ready to be framed."""


async def encode(key: bytes, model: str, chunks: list[bytes]) -> bytes:
    """`chunks` are the JSON of each chunk, as `streams.RecordingStream` keeps them."""
    head = orjson.dumps({"v": FORMAT, "key": key.hex(), "model": model})
    return await deflate(head[:-1] + b',"chunks":[' + b",".join(chunks) + b"]}")


def decode(key: bytes, data: bytes) -> CachedAnswer:
    value = unpack(data)
    if not isinstance(value, dict) or value.get("v") != FORMAT or value.get("key") != key.hex():
        raise CorruptData("another format or another key")
    model, chunks = value.get("model"), value.get("chunks")
    if not isinstance(model, str) or not isinstance(chunks, list) or not chunks:
        raise CorruptData("no model or no chunks")
    # What the stream formats and the collector rely on, as for a provider's chunks.
    if not all(is_chunk(chunk) for chunk in chunks):
        raise CorruptData("a chunk of the wrong shape")
    return CachedAnswer(model, chunks)
