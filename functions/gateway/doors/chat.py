"""The OpenAI chat-completions door: `chat.completion.chunk` events and OpenAI's errors.

The constant part of every chunk (`id`, `object`, `created`, `model`) is serialised once
per stream into a prefix; each chunk then costs one `orjson.dumps` of what changes.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from gateway.aggregate import CompletionBuilder
from gateway.core.chunks import Chunk, Usage
from gateway.core.request import ChatRequest
from gateway.core.usage import all_input_tokens
from gateway.doors.base import Door, Reply, StreamFormat
from gateway.errors import GatewayError
from gateway.schema import parse_chat_request

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"


def chat_usage(usage: Usage) -> dict[str, Any]:
    """OpenAI's usage: cache reads and writes counted inside `prompt_tokens`, and apart in
    `prompt_tokens_details` (`cached_tokens`, `cache_write_tokens`: the `openai` SDK's
    names); reasoning in `completion_tokens_details` when the provider reported it."""
    prompt = all_input_tokens(usage)
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": usage["output_tokens"],
        "total_tokens": prompt + usage["output_tokens"],
        "prompt_tokens_details": {
            "cached_tokens": usage["cache_read_tokens"],
            "cache_write_tokens": usage["cache_write_tokens"],
        },
    }
    if "reasoning_tokens" in usage:
        out["completion_tokens_details"] = {"reasoning_tokens": usage["reasoning_tokens"]}
    return out


def chat_completion(builder: CompletionBuilder, reply: Reply) -> dict[str, Any]:
    """The non-streamed `chat.completion`: one choice, from the collected stream."""
    logprobs = {"content": builder.logprobs} if builder.logprobs else None
    return {
        "id": reply.id,
        "object": "chat.completion",
        "created": reply.created,
        "model": reply.model,
        "choices": [
            {
                "index": 0,
                "message": builder.message(),
                "logprobs": logprobs,
                "finish_reason": builder.finish_reason or "stop",
            }
        ],
        "usage": None if builder.usage is None else chat_usage(builder.usage),
        **builder.extra,
    }


def error_event(error: GatewayError) -> bytes:
    """An in-stream error: JSON with a top-level `error`, which the `openai` SDK raises."""
    return b"data: " + orjson.dumps(error.body()) + b"\n\n"


def openai_error_response(error: GatewayError) -> Response:
    """OpenAI's error shape, `{"error": {message, type, param, code}}`, with its status."""
    return Response(
        orjson.dumps(error.body()),
        status_code=error.status,
        media_type="application/json",
        headers=error.headers,
    )


class ChunkFramer(StreamFormat):
    """Checks and frames one stream's chunks, and writes its proper ending.

    It guarantees what clients rely on whatever the provider sent: the first delta has
    `role: "assistant"`, the last chunk with choices has a `finish_reason`, usage comes in
    its own final chunk (only when the client asked for it), then `[DONE]`.
    """

    __slots__ = ("_include_usage", "_prefix", "chunks", "finish_reason", "role_sent", "usage")

    keepalive = KEEPALIVE

    def __init__(self, reply: Reply, include_usage: bool) -> None:
        head = orjson.dumps(
            {
                "id": reply.id,
                "object": "chat.completion.chunk",
                "created": reply.created,
                "model": reply.model,
            }
        )
        self._prefix = b"data: " + head[:-1] + b","
        self._include_usage = include_usage
        self.role_sent = False
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.chunks = 0

    def frame(self, chunk: Chunk) -> bytes | None:
        """The event for `chunk`, or None when it only carried usage (held for the end)."""
        choices = chunk["choices"]
        usage = chunk.pop("usage", None)
        if usage is not None:
            self.usage = usage
        if not choices:
            return None
        for choice in choices:
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
            usage = {"choices": [], "usage": chat_usage(self.usage)}
            out += self._prefix + orjson.dumps(usage)[1:] + b"\n\n"
        return out + DONE

    error = staticmethod(error_event)


class ChatCompletionsDoor(Door[ChatRequest]):
    """`POST /v1/chat/completions`: the internal request is this door's own body."""

    name = "chat.completions"
    id_prefix = "chatcmpl-"

    def parse(self, body: object) -> ChatRequest:
        parsed, raw = parse_chat_request(body)
        stream = bool(parsed.stream)
        options = parsed.stream_options
        return ChatRequest(
            body=raw,
            model=parsed.model,
            stream=stream,
            include_usage=bool(stream and options and options.include_usage),
        )

    def stream_format(self, reply: Reply, request: ChatRequest) -> ChunkFramer:
        return ChunkFramer(reply, request.include_usage)

    def render(
        self, builder: CompletionBuilder, reply: Reply, request: ChatRequest
    ) -> dict[str, Any]:
        return chat_completion(builder, reply)

    error_response = staticmethod(openai_error_response)


CHAT_COMPLETIONS = ChatCompletionsDoor()
