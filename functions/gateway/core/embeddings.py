"""The internal embeddings answer, what every provider's `embed` returns, and the one check
that holds a provider's answer to it (as `chunk_shape` does for chunks).

A vector is kept as the provider sent it: a list of numbers, or OpenAI's base64 form (the
little-endian float32 values, base64-encoded). The door converts between the two only when
the provider's form is not the one the client asked for.
"""

from __future__ import annotations

import binascii
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.core.chunks import Usage
from gateway.core.usage import NO_USAGE
from gateway.errors import UpstreamFailed

Vector = list[float] | str
"""Numbers, or base64 of little-endian float32 values."""

UNREADABLE = "The provider sent an embeddings answer the gateway cannot read."


@dataclass(frozen=True, slots=True)
class Embeddings:
    vectors: Sequence[Vector]
    """One per input, in the order of the inputs."""
    usage: Usage
    """The input's tokens, as `input_tokens` (an embedding has no output, and no provider
    reports prompt caching for one)."""


def checked_embeddings(answer: object) -> Embeddings:
    """An OpenAI embeddings response body (`data` of `{index, embedding}`, `usage`) as
    `Embeddings`, or `UpstreamFailed`: every vector a list of numbers or valid base64 of
    float32 values, every input answered once."""
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list):
        raise UpstreamFailed(UNREADABLE)
    vectors: list[Vector | None] = [None] * len(data)
    for item in data:
        index = item.get("index") if isinstance(item, dict) else None
        if not isinstance(index, int) or not 0 <= index < len(data) or vectors[index] is not None:
            raise UpstreamFailed(UNREADABLE)
        vectors[index] = _checked_vector(item.get("embedding"))
    usage = answer.get("usage") if isinstance(answer, dict) else None
    prompt = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    prompt = prompt if isinstance(prompt, int) and not isinstance(prompt, bool) else 0
    return Embeddings(
        vectors=vectors,  # type: ignore[arg-type]  # every index was filled exactly once
        usage={**NO_USAGE, "input_tokens": prompt},
    )


def _checked_vector(vector: object) -> Vector:
    try:
        if isinstance(vector, list):
            array("d", vector)  # a C loop that refuses anything but numbers
            return vector
        if isinstance(vector, str) and len(binascii.a2b_base64(vector, strict_mode=True)) % 4 == 0:
            return vector
    except (TypeError, OverflowError, binascii.Error):
        pass
    raise UpstreamFailed(UNREADABLE)
