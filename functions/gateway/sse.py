"""Server-sent-event framing of a chat-completion stream.

The constant part of every chunk (`id`, `object`, `created`, `model`) is serialised once
per stream into a prefix; each chunk then costs one `orjson.dumps` of what changes.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.errors import GatewayError, UpstreamFailed
from gateway.providers.base import Chunk

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"


def error_event(error: GatewayError) -> bytes:
    """An in-stream error: JSON with a top-level `error`, which the `openai` SDK raises."""
    return b"data: " + orjson.dumps(error.body()) + b"\n\n"


class ChunkFramer:
    """Checks and frames one stream's chunks, and writes its proper ending.

    It guarantees what clients rely on whatever the provider sent: the first delta has
    `role: "assistant"`, the last chunk with choices has a `finish_reason`, usage comes in
    its own final chunk (only when the client asked for it), then `[DONE]`.
    """

    __slots__ = ("_include_usage", "_prefix", "chunks", "finish_reason", "role_sent", "usage")

    def __init__(self, completion_id: str, created: int, model: str, include_usage: bool) -> None:
        head = orjson.dumps(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
            }
        )
        self._prefix = b"data: " + head[:-1] + b","
        self._include_usage = include_usage
        self.role_sent = False
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.chunks = 0

    def frame(self, chunk: Chunk) -> bytes | None:
        """The event for `chunk`, or None when it only carried usage (held for the end)."""
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            raise UpstreamFailed("The provider sent a chunk of the wrong shape.")
        usage = chunk.pop("usage", None)
        if usage is not None:
            self.usage = usage
        if not choices:
            return None
        for choice in choices:
            if not isinstance(choice, dict) or not isinstance(choice.get("delta", {}), dict):
                raise UpstreamFailed("The provider sent a chunk of the wrong shape.")
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        if not self.role_sent:
            choices[0].setdefault("delta", {}).setdefault("role", "assistant")
            self.role_sent = True
        if self._include_usage:
            chunk["usage"] = None
        self.chunks += 1
        return self._prefix + orjson.dumps(chunk)[1:] + b"\n\n"

    def ending(self) -> bytes:
        """What closes a stream the provider finished: finish_reason, usage, [DONE]."""
        out = b""
        if self.finish_reason is None:
            out += (
                self.frame({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}) or b""
            )
        if self._include_usage and self.usage is not None:
            out += self._prefix + orjson.dumps({"choices": [], "usage": self.usage})[1:] + b"\n\n"
        return out + DONE
