"""A cached answer as stored: its chunk sequence as JSON, compressed with zlib.

The bytes carry a format version and the full key they were stored under, checked on
every read, so an entry that is damaged, from another format or under the wrong key is
never replayed (zlib's checksum catches damaged bytes).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.core.chunk_shape import is_chunk
from gateway.core.chunks import Chunk

FORMAT = 1
MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024


class CorruptEntry(Exception):
    """Stored bytes that are not an entry of this format under this key."""


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    model: str
    """The route that produced the answer (a fallback, perhaps)."""
    chunks: list[Chunk]
    """Chunks as the provider sent them (see `gateway.core.chunks`), ready to be framed."""


def encode(key: bytes, model: str, chunks: list[bytes]) -> bytes:
    """`chunks` are the JSON of each chunk, as `streams.RecordingStream` keeps them."""
    head = orjson.dumps({"v": FORMAT, "key": key.hex(), "model": model})
    return zlib.compress(head[:-1] + b',"chunks":[' + b",".join(chunks) + b"]}")


def inflate_json(data: bytes) -> Any:
    """The JSON value compressed in `data`, inflated to at most `MAX_DECOMPRESSED_BYTES`;
    `CorruptEntry` for anything else (a store's bytes are trusted no further)."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(data, MAX_DECOMPRESSED_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            raise CorruptEntry("truncated or too large")
        return orjson.loads(raw)
    except (zlib.error, orjson.JSONDecodeError) as error:
        raise CorruptEntry(type(error).__name__) from None


def decode(key: bytes, data: bytes) -> CachedAnswer:
    value = inflate_json(data)
    if not isinstance(value, dict) or value.get("v") != FORMAT or value.get("key") != key.hex():
        raise CorruptEntry("another format or another key")
    model, chunks = value.get("model"), value.get("chunks")
    if not isinstance(model, str) or not isinstance(chunks, list) or not chunks:
        raise CorruptEntry("no model or no chunks")
    # What the stream formats and the collector rely on, as for a provider's chunks.
    if not all(is_chunk(chunk) for chunk in chunks):
        raise CorruptEntry("a chunk of the wrong shape")
    return CachedAnswer(model, chunks)
