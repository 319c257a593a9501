"""JSON values as stored: compressed with zlib, inflated within a bound.

zlib's checksum catches damaged bytes; the bound keeps a small stored value from
inflating into gigabytes. A store's bytes are trusted no further than this.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson

MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024


class CorruptData(Exception):
    """Stored bytes that are not what their reader expects: damaged, truncated, too large,
    or of another format or key."""


def pack(value: Any) -> bytes:
    return zlib.compress(orjson.dumps(value))


def unpack(data: bytes) -> Any:
    """The JSON value compressed in `data`, inflated to at most `MAX_DECOMPRESSED_BYTES`;
    `CorruptData` for anything else."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(data, MAX_DECOMPRESSED_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            raise CorruptData("truncated or too large")
        return orjson.loads(raw)
    except (zlib.error, orjson.JSONDecodeError) as error:
        raise CorruptData(type(error).__name__) from None
