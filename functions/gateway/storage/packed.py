"""JSON values as stored: compressed with zlib, within a bound both ways.

zlib's checksum catches damaged bytes; the bound is checked on the JSON before it is
compressed and again while inflating, so a small stored value never inflates past what
its writer was allowed to keep. A store's bytes are trusted no further than this.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

import orjson

MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024
INLINE_BYTES = 64 * 1024
"""Data up to this size is compressed on the event loop (under a few milliseconds);
larger data on a thread: deflating a megabyte of text takes 30-130 ms, all of which the
loop would otherwise spend serving nothing else (zlib lets go of the GIL meanwhile)."""


class CorruptData(Exception):
    """Stored bytes that are not what their reader expects: damaged, truncated, too large,
    or of another format or key."""


class TooLarge(Exception):
    """A value whose JSON is over the bound it is packed within."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes as JSON")
        self.size = size


async def deflate(raw: bytes) -> bytes:
    """`raw` compressed with zlib, off the event loop when it is large."""
    if len(raw) <= INLINE_BYTES:
        return zlib.compress(raw)
    return await asyncio.to_thread(zlib.compress, raw)


async def pack(value: Any, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """`value` as compressed JSON; `TooLarge` when its JSON is over `max_bytes`."""
    raw = orjson.dumps(value)
    if len(raw) > max_bytes:
        raise TooLarge(len(raw))
    return await deflate(raw)


def unpack(data: bytes, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> Any:
    """The JSON value compressed in `data`, never inflated past `max_bytes`; `CorruptData`
    for anything else."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(data, max_bytes)
        if inflater.unconsumed_tail or not inflater.eof:
            raise CorruptData("truncated or too large")
        return orjson.loads(raw)
    except (zlib.error, orjson.JSONDecodeError) as error:
        raise CorruptData(type(error).__name__) from None
