"""The chat-completion chunk stream as Anthropic Messages events, and as one message.

Streamed: `message_start`, then per content block `content_block_start`,
`content_block_delta`s and `content_block_stop`, then `message_delta` (stop reason, usage)
and `message_stop`. Every event has an `event:` line equal to its data's `type`: the
Python SDK skips events without one. Blocks follow the order the provider produced them:
reasoning becomes a `thinking` block (its signature, when the provider gave one, a
`signature_delta` that ends it), redacted thinking a `redacted_thinking` block, content a
`text` block, each tool call a `tool_use` block whose arguments stream as
`input_json_delta`.

Not streamed: the same blocks, assembled by `CompletionBuilder`, as one `message` object.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import orjson

from gateway.core.chunks import Chunk, TextField, ThinkingBlockDelta, ToolCallDelta, Usage
from gateway.core.usage import NO_USAGE
from gateway.doors.base import StreamFormat
from gateway.doors.messages_errors import error_event
from gateway.errors import UpstreamFailed

if TYPE_CHECKING:
    from gateway.aggregate import CompletionBuilder
    from gateway.doors.base import Reply

PING = b'event: ping\ndata: {"type":"ping"}\n\n'

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
"""OpenAI finish reasons as Anthropic stop reasons. OpenAI reports a matched stop
sequence as a plain `stop`, so `stop_sequence` is never known, and never reported."""

_BLOCK_KINDS: dict[TextField, str] = {
    "content": "text",
    "refusal": "text",
    "reasoning_content": "thinking",
}
"""The content block each text field of a delta streams into."""
_SEALED = "sealed"
"""The kind of an open block that takes no more deltas."""
_DELTA_TYPES = {"text": b"text_delta", "thinking": b"thinking_delta"}
_EMPTY_BLOCKS = {
    "text": {"type": "text", "text": ""},
    "thinking": {"type": "thinking", "thinking": "", "signature": ""},
}


def _event(data: dict[str, Any]) -> bytes:
    kind: str = data["type"]
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def stop_reason(finish_reason: str | None, refused: bool, used_tools: bool) -> str:
    reason = STOP_REASONS.get(finish_reason or "stop", "end_turn")
    if refused:
        return "refusal"
    # Some providers end a turn that called tools with a plain `stop`.
    return "tool_use" if used_tools and reason == "end_turn" else reason


def message_usage(usage: Usage | None) -> dict[str, Any]:
    """Anthropic's usage: `input_tokens` counts only the input neither read from the cache
    nor written to it, which `cache_read_input_tokens` and `cache_creation_input_tokens`
    count (zeros when the provider reported nothing); reasoning, when the provider reported
    it, in `output_tokens_details.thinking_tokens`."""
    usage = usage or NO_USAGE
    out: dict[str, Any] = {
        "input_tokens": usage["input_tokens"],
        "cache_creation_input_tokens": usage["cache_write_tokens"],
        "cache_read_input_tokens": usage["cache_read_tokens"],
        "output_tokens": usage["output_tokens"],
    }
    if "reasoning_tokens" in usage:
        out["output_tokens_details"] = {"thinking_tokens": usage["reasoning_tokens"]}
    return out


def tool_use_id(call_id: object) -> str:
    return call_id if isinstance(call_id, str) and call_id else "toolu_" + secrets.token_hex(12)


class MessageEvents(StreamFormat):
    """Turns one stream's chunks into Messages events (the door's `StreamFormat`)."""

    __slots__ = (
        "_blocks",
        "_input_estimate",
        "_open",
        "_open_kind",
        "_refused",
        "_reply",
        "_started",
        "_tools",
        "chunks",
        "finish_reason",
        "usage",
    )

    keepalive = PING
    error = staticmethod(error_event)

    def __init__(self, reply: Reply, input_estimate: int) -> None:
        self._reply = reply
        self._input_estimate = input_estimate
        self._started = False
        self._blocks = 0
        self._open = -1
        """Index of the block being written, -1 between blocks."""
        self._open_kind = ""
        self._tools: dict[int, int] = {}
        """Chat tool-call index → content block index."""
        self._refused = False
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.chunks = 0

    def frame(self, chunk: Chunk) -> bytes | None:
        """Chunks are well formed (`core.chunk_shape`): no checks here."""
        if chunk.get("usage") is not None:
            self.usage = chunk["usage"]
        out = b"" if self._started else self._start()
        for choice in chunk["choices"]:
            delta = choice.get("delta") or {}
            for field, kind in _BLOCK_KINDS.items():
                text = delta.get(field)
                if isinstance(text, str) and text:
                    out += self._text(kind, text)
                    self._refused |= field == "refusal"
            for piece in delta.get("thinking_blocks") or ():
                out += self._thinking_piece(piece)
            for fragment in delta.get("tool_calls") or ():
                out += self._tool_fragment(fragment)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        if not out:
            return None
        self.chunks += 1
        return out

    def ending(self) -> bytes:
        out = (b"" if self._started else self._start()) + self._close()
        reason = stop_reason(self.finish_reason, self._refused, bool(self._tools))
        return (
            out
            + _event(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": reason, "stop_sequence": None},
                    # Totals, which replace message_start's estimate in the SDKs.
                    "usage": message_usage(self.usage) if self.usage else {"output_tokens": 0},
                }
            )
            + b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
        )

    def _start(self) -> bytes:
        self._started = True
        reply = self._reply
        message: dict[str, Any] = {
            "id": reply.id,
            "type": "message",
            "role": "assistant",
            "model": reply.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self._input_estimate, "output_tokens": 0},
        }
        return _event({"type": "message_start", "message": message})

    def _open_block(self, kind: str, block: dict[str, Any]) -> bytes:
        out = self._close()
        self._open, self._open_kind = self._blocks, kind
        self._blocks += 1
        return out + _event(
            {"type": "content_block_start", "index": self._open, "content_block": block}
        )

    def _close(self) -> bytes:
        if self._open < 0:
            return b""
        index, self._open, self._open_kind = self._open, -1, ""
        return (
            b'event: content_block_stop\ndata: {"type":"content_block_stop","index":%d}\n\n' % index
        )

    def _text(self, kind: str, text: str) -> bytes:
        out = b"" if self._open_kind == kind else self._open_block(kind, _EMPTY_BLOCKS[kind])
        delta_type = _DELTA_TYPES[kind]
        return out + (
            b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,'
            b'"delta":{"type":"%s","%s":%s}}\n\n'
            % (self._open, delta_type, kind.encode(), orjson.dumps(text))
        )

    def _thinking_piece(self, piece: ThinkingBlockDelta) -> bytes:
        """A signature or a redacted block: both end their block (the text came as
        `reasoning_content`), so that the next thinking starts a block of its own."""
        if piece.get("type") == "redacted_thinking":
            block = {"type": "redacted_thinking", "data": piece.get("data", "")}
            out = self._open_block(_SEALED, block)
        elif signature := piece.get("signature"):
            out = (
                b""
                if self._open_kind == "thinking"
                else self._open_block("thinking", _EMPTY_BLOCKS["thinking"])
            )
            out += _event(
                {
                    "type": "content_block_delta",
                    "index": self._open,
                    "delta": {"type": "signature_delta", "signature": signature},
                }
            )
        else:
            return b""
        self._open_kind = _SEALED
        return out

    def _tool_fragment(self, fragment: ToolCallDelta) -> bytes:
        function = fragment.get("function") or {}
        position = fragment.get("index", len(self._tools))
        out = b""
        index = self._tools.get(position)
        if index is None:
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": tool_use_id(fragment.get("id")),
                "name": function.get("name") or "",
                "input": {},
            }
            out = self._open_block("tool_use", block)
            index = self._tools[position] = self._blocks - 1
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            # A provider that interleaves two calls' arguments (none known does) gets each
            # fragment at its own block's index, which the SDKs accumulate by.
            out += _event(
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": arguments},
                }
            )
        return out


def render_message(builder: CompletionBuilder, reply: Reply) -> dict[str, Any]:
    """The non-streamed `message`: the builder's reasoning, text and tool calls as blocks."""
    message = builder.message()
    content: list[dict[str, Any]] = [
        block if block["type"] == "redacted_thinking" else {"signature": "", **block}
        for block in message.get("thinking_blocks") or ()
    ]
    if not content and message.get("reasoning_content"):
        content.append(
            {"type": "thinking", "thinking": message["reasoning_content"], "signature": ""}
        )
    text = (message.get("content") or "") + (message.get("refusal") or "")
    if text:
        content.append({"type": "text", "text": text})
    calls = message.get("tool_calls") or []
    for call in calls:
        content.append(
            {
                "type": "tool_use",
                "id": tool_use_id(call["id"]),
                "name": call["function"]["name"],
                "input": _arguments(call["function"]["arguments"]),
            }
        )
    return {
        "id": reply.id,
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": content,
        "stop_reason": stop_reason(
            builder.finish_reason, bool(message.get("refusal")), bool(calls)
        ),
        "stop_sequence": None,
        "usage": message_usage(builder.usage),
    }


def _arguments(arguments: str) -> dict[str, Any]:
    try:
        parsed = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise UpstreamFailed("The provider sent tool arguments that are not a JSON object.")
    return parsed
