"""Collects a provider's chunks into one answer, which each door renders as its
non-streamed response.

Providers always stream; a `stream: false` request is the same stream collected here, so
both kinds of response see the same upstream behaviour, errors and usage.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.core.chunks import TEXT_FIELDS, Chunk, ChunkStream, Delta, Usage
from gateway.core.thinking import ThinkingBlocks
from gateway.errors import (
    DEADLINE_MESSAGE,
    UpstreamTimeout,
    idle_message,
)


class CompletionBuilder:
    """Accumulates the deltas of one choice (the gateway serves `n = 1`)."""

    def __init__(self) -> None:
        self._text: dict[str, list[str]] = {}
        self._tool_calls: dict[int, dict[str, Any]] = {}
        self._thinking = ThinkingBlocks()
        self.logprobs: list[Any] = []
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.extra: dict[str, Any] = {}

    def add(self, chunk: Chunk) -> None:
        """Chunks are well formed (`core.chunk_shape`): no checks here."""
        if chunk.get("usage") is not None:
            self.usage = chunk["usage"]
        if chunk.get("system_fingerprint"):
            self.extra["system_fingerprint"] = chunk["system_fingerprint"]
        for choice in chunk["choices"]:
            self._add_delta(choice.get("delta") or {})
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
            logprobs = choice.get("logprobs")
            if isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):
                self.logprobs.extend(logprobs["content"])

    def _add_delta(self, delta: Delta) -> None:
        for name in TEXT_FIELDS:
            piece = delta.get(name)
            if isinstance(piece, str):
                self._text.setdefault(name, []).append(piece)
        for block in delta.get("thinking_blocks") or ():
            self._thinking.add(block)
        for fragment in delta.get("tool_calls") or ():
            call = self._tool_calls.setdefault(
                fragment.get("index", len(self._tool_calls)),
                {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
            )
            if fragment.get("id"):
                call["id"] = fragment["id"]
            if fragment.get("type"):
                call["type"] = fragment["type"]
            function = fragment.get("function") or {}
            if function.get("name"):
                call["function"]["name"] += function["name"]
            if function.get("arguments"):
                call["function"]["arguments"] += function["arguments"]

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self._text["content"]) if "content" in self._text else None,
        }
        for name in ("reasoning_content", "refusal"):
            if name in self._text:
                message[name] = "".join(self._text[name])
        if self._thinking.blocks:
            message["thinking_blocks"] = self._thinking.blocks
        if self._tool_calls:
            message["tool_calls"] = [self._tool_calls[i] for i in sorted(self._tool_calls)]
        return message


async def collect(
    chunks: ChunkStream, idle_timeout_seconds: float, deadline: float
) -> CompletionBuilder:
    """Read a whole stream, within the same idle timeout and deadline as a streamed one."""
    loop = asyncio.get_running_loop()
    builder = CompletionBuilder()
    at_deadline = False
    try:
        async with asyncio.timeout(None) as timer:
            while True:
                # Which limit the timer is set to is noted rather than read from the clock
                # when it fires: uvloop's timers have millisecond resolution and may fire
                # just before the deadline.
                idle_end = loop.time() + idle_timeout_seconds
                at_deadline = deadline <= idle_end
                timer.reschedule(deadline if at_deadline else idle_end)
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    return builder
                builder.add(chunk)
    except TimeoutError:
        if at_deadline:
            raise UpstreamTimeout(DEADLINE_MESSAGE) from None
        raise UpstreamTimeout(idle_message(idle_timeout_seconds)) from None
    finally:
        await chunks.aclose()
