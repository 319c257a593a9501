"""The built-in `echo` model: no network, no key, a deterministic streamed answer.

It makes the gateway useful on a fresh machine and gives tests a provider with exactly
known output. It repeats the last user message, one word per chunk, and embeds each input
as a small unit vector derived from a hash of it (the same input, the same vector).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import AsyncGenerator
from typing import Any

from gateway.core.chunks import Chunk, ChunkStream
from gateway.core.embeddings import Embeddings
from gateway.core.usage import NO_USAGE
from gateway.errors import InvalidRequest
from gateway.providers.base import UpstreamRequest

GREETING = "Hello from the gateway's built-in echo model."
ECHO_DIMENSIONS = 8
"""The length of the echo model's vectors unless the request sets `dimensions`."""
MAX_ECHO_DIMENSIONS = 3072
"""The most it gives (as many as OpenAI's largest embedding model)."""


def _text(content: Any) -> str:
    """The text of a message's content, whether a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def echo_reply(messages: list[dict[str, Any]]) -> str:
    """What the echo model answers to these messages."""
    for message in reversed(messages):
        if message.get("role") == "user" and (text := _text(message.get("content")).strip()):
            return f"You said: {text}"
    return GREETING


class EchoProvider:
    def __init__(self, word_delay_seconds: float = 0.0) -> None:
        self._delay = word_delay_seconds

    async def open(self, request: UpstreamRequest) -> ChunkStream:
        return _EchoStream(self._stream(request.params.get("messages", [])))

    async def _stream(self, messages: list[dict[str, Any]]) -> AsyncGenerator[Chunk, None]:
        words = echo_reply(messages).split(" ")
        prompt_tokens = sum(len(_text(m.get("content")).split()) for m in messages)
        yield {
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            ]
        }
        for i, word in enumerate(words):
            if self._delay:
                await asyncio.sleep(self._delay)
            piece = word if i == 0 else " " + word
            yield {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        yield {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        yield {
            "choices": [],
            "usage": {**NO_USAGE, "input_tokens": prompt_tokens, "output_tokens": len(words)},
        }

    async def embed(self, request: UpstreamRequest) -> Embeddings:
        """One vector per input (a string, or a token array); a string costs a token per
        word, a token array its length."""
        given = request.params["input"]
        inputs = [given] if isinstance(given, str) or isinstance(given[0], int) else given
        dimensions = request.params.get("dimensions") or ECHO_DIMENSIONS
        if dimensions > MAX_ECHO_DIMENSIONS:
            raise InvalidRequest(
                f"The echo model gives at most {MAX_ECHO_DIMENSIONS} dimensions.",
                param="dimensions",
            )
        vectors = [hashed_vector(str(one).encode(), dimensions) for one in inputs]
        tokens = sum(len(one.split()) if isinstance(one, str) else len(one) for one in inputs)
        return Embeddings(vectors, {**NO_USAGE, "input_tokens": tokens})

    def prepare(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


def hashed_vector(data: bytes, dimensions: int) -> list[float]:
    """A unit vector of `dimensions` values in [-1, 1] drawn from SHAKE-256 of `data`."""
    digest = hashlib.shake_256(data).digest(4 * dimensions)
    values = [
        int.from_bytes(digest[i : i + 4], "little") / 2**31 - 1 for i in range(0, len(digest), 4)
    ]
    norm = math.sqrt(sum(value * value for value in values)) or 1.0
    return [value / norm for value in values]


class _EchoStream(ChunkStream):
    __slots__ = ("_chunks",)

    def __init__(self, chunks: AsyncGenerator[Chunk, None]) -> None:
        self._chunks = chunks

    async def __anext__(self) -> Chunk:
        return await anext(self._chunks)

    async def aclose(self) -> None:
        await self._chunks.aclose()
