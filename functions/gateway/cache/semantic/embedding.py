"""A static embedding table: a question's vector is the mean of its tokens' rows.

The table is WordLlama's `l2_supercat_256` (MIT; 32,000 Llama 2 tokens x 256 dimensions,
float16, 16 MB), which ships inside the `wordllama` wheel pinned in the layer's lock. Only
its files are read, never its Python package (which would import numpy): the weights
through the safetensors header with the standard library, memory-mapped so that only
the rows a question touches are paged in, and the tokenizer with `tokenizers`, which
LiteLLM already brings. Nothing is downloaded. This module is imported only when a route
turns the semantic tier on.
"""

from __future__ import annotations

import importlib.metadata
import mmap
import struct
from array import array
from math import sqrt
from pathlib import Path
from typing import Any

import orjson
from tokenizers import Tokenizer

from gateway.errors import ConfigurationError

DIMENSIONS = 128
"""The table is trained Matryoshka-style: its first 128 of 256 dimensions are a smaller
embedding of their own, enough to find candidates (verification decides), at half the
work and half the stored bytes."""
_DISTRIBUTION = "wordllama"
_WEIGHTS = "wordllama/weights/l2_supercat_256.safetensors"
_TOKENIZER = "wordllama/tokenizers/l2_supercat_tokenizer_config.json"
_QUANT = 127


class StaticEmbedding:
    """Loaded once, at start, when any route uses the semantic tier."""

    def __init__(self) -> None:
        try:
            distribution = importlib.metadata.distribution(_DISTRIBUTION)
            weights = Path(str(distribution.locate_file(_WEIGHTS)))
            tokenizer = Path(str(distribution.locate_file(_TOKENIZER)))
            self._tokenizer = Tokenizer.from_file(str(tokenizer))
            with weights.open("rb") as file:
                self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except Exception as error:  # no package, an unreadable file, a tokenizer it refuses
            raise ConfigurationError(
                f"semantic_cache: the embedding table cannot be loaded ({type(error).__name__})"
            ) from None
        self._rows, self._width, self._offset = _table_layout(self._map)
        self._row_format = struct.Struct(f"<{DIMENSIONS}e")

    def embed(self, text: str) -> bytes:
        """The unit vector of `text`, quantised to signed bytes (what is stored and
        compared: cosine similarity is then an integer dot product)."""
        total = [0.0] * DIMENSIONS
        unpack = self._row_format.unpack_from
        for token in self._tokenizer.encode(text.lower(), add_special_tokens=False).ids:
            if 0 <= token < self._rows:
                row = unpack(self._map, self._offset + token * self._width)
                total = list(map(float.__add__, total, row))
        norm = sqrt(sum(value * value for value in total)) or 1.0
        return array("b", (round(value / norm * _QUANT) for value in total)).tobytes()


def similarity(a: bytes, b: bytes) -> float:
    """The cosine of two vectors from `StaticEmbedding.embed` (about: quantised)."""
    left, right = array("b", a), array("b", b)
    dot = sum(map(int.__mul__, left, right))
    norms = sqrt(sum(map(int.__mul__, left, left)) * sum(map(int.__mul__, right, right)))
    return dot / norms if norms else 0.0


def _table_layout(data: Any) -> tuple[int, int, int]:
    """Rows, bytes per row and the offset of the first row, from the safetensors header:
    an 8-byte little-endian length, then JSON naming each tensor's dtype, shape and span."""
    (length,) = struct.unpack_from("<Q", data, 0)
    header = orjson.loads(bytes(data[8 : 8 + length]))
    tensor = header["embedding.weight"]
    rows, columns = tensor["shape"]
    if tensor["dtype"] != "F16" or columns < DIMENSIONS:
        raise ConfigurationError("semantic_cache: the embedding table has an unexpected shape")
    return rows, columns * 2, 8 + length + tensor["data_offsets"][0]
