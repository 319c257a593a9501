"""The internal chunk stream as Responses API output: stream events, and the response object.

One chat-completion stream becomes a list of output items, in the order they start:
`reasoning` (the provider's `reasoning_content`; its signed thinking blocks in
`encrypted_content`, see `responses_reasoning`), `message` (text and refusal parts) and
one `function_call` per tool call. While streaming, each item is announced
(`response.output_item.added`), filled by deltas and closed (`...done` events, then
`response.output_item.done`): the `openai` SDK's `responses.stream()` and the Codex CLI
build their final response from exactly these events. Consecutive tool calls stay open
together, so a provider may interleave their argument fragments.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from gateway.aggregate import CompletionBuilder
from gateway.core.chunks import Chunk, TextField, ThinkingBlockDelta, ToolCallDelta, Usage
from gateway.core.thinking import ThinkingBlocks
from gateway.core.usage import all_input_tokens
from gateway.doors.base import Reply, StreamFormat
from gateway.doors.responses_reasoning import encrypted_content
from gateway.doors.responses_request import ResponsesTurn
from gateway.errors import GatewayError, UpstreamFailed, UpstreamRateLimited

KEEPALIVE = b": keep-alive\n\n"

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
"""Chat finish reasons that make a response `incomplete`, and the reason it reports."""

# Per content kind: the part's initial shape, its text field, and its delta/done events.
_PART: dict[str, tuple[dict[str, Any], str]] = {
    "output_text": ({"type": "output_text", "annotations": [], "logprobs": []}, "text"),
    "refusal": ({"type": "refusal"}, "refusal"),
    "reasoning_text": ({"type": "reasoning_text"}, "text"),
}
_PART_KINDS: dict[TextField, str] = {
    "reasoning_content": "reasoning_text",
    "content": "output_text",
    "refusal": "refusal",
}
"""The content part each text field of a delta streams into, in the order they start."""
_EVENT = {
    "output_text": "response.output_text",
    "refusal": "response.refusal",
    "reasoning_text": "response.reasoning_text",
}


def response_usage(usage: Usage | None) -> dict[str, Any] | None:
    """The Responses API's usage: like chat completions', cache reads and writes are counted
    inside `input_tokens` and apart in `input_tokens_details`."""
    if usage is None:
        return None
    input_tokens = all_input_tokens(usage)
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {
            "cached_tokens": usage["cache_read_tokens"],
            "cache_write_tokens": usage["cache_write_tokens"],
        },
        "output_tokens": usage["output_tokens"],
        "output_tokens_details": {"reasoning_tokens": usage.get("reasoning_tokens", 0)},
        "total_tokens": input_tokens + usage["output_tokens"],
    }


def response_object(
    reply: Reply,
    turn: ResponsesTurn,
    status: str,
    output: list[dict[str, Any]],
    usage: Usage | None = None,
    error: GatewayError | None = None,
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """The `response` object as the API returns it (and as stream lifecycle events carry)."""
    reason = _INCOMPLETE.get(finish_reason or "")
    return {
        "id": reply.id,
        "object": "response",
        "created_at": reply.created,
        "status": status,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": None if error is None else response_error(error),
        "incomplete_details": {"reason": reason} if status == "incomplete" else None,
        "model": reply.model,
        "output": output,
        "usage": response_usage(usage),
        **turn.echo,
    }


def response_error(error: GatewayError) -> dict[str, Any]:
    """A failed response's `error`: the code OpenAI uses for it (a provider's own, when
    a native stream's provider reported the failure with one), and the message."""
    if isinstance(error, UpstreamRateLimited):
        code = "rate_limit_exceeded"
    elif isinstance(error, UpstreamFailed) and error.code != UpstreamFailed.default_code:
        code = error.code
    else:
        code = "server_error"
    return {"code": code, "message": error.message}


def status_for(finish_reason: str | None) -> str:
    return "incomplete" if finish_reason in _INCOMPLETE else "completed"


def render_response(
    builder: CompletionBuilder, reply: Reply, turn: ResponsesTurn
) -> dict[str, Any]:
    """The non-streamed response: the collected completion as output items."""
    message = builder.message()
    status = status_for(builder.finish_reason)
    suffix = reply.id.removeprefix("resp_")
    output: list[dict[str, Any]] = []
    blocks = message.get("thinking_blocks") or []
    if message.get("reasoning_content") or blocks:
        text = message.get("reasoning_content")
        parts = [{"type": "reasoning_text", "text": text}] if text else []
        output.append(_reasoning_item(f"rs_{suffix}_0", parts, encrypted_content(blocks)))
    parts = []
    if message.get("content"):
        parts.append({**_PART["output_text"][0], "text": message["content"]})
    if message.get("refusal"):
        parts.append({"type": "refusal", "refusal": message["refusal"]})
    if parts:
        output.append(_message_item(f"msg_{suffix}_{len(output)}", parts, status))
    for call in message.get("tool_calls") or ():
        function = call["function"]
        output.append(
            _call_item(
                f"fc_{suffix}_{len(output)}",
                call["id"] or f"call_{suffix}_{len(output)}",
                function["name"],
                function["arguments"],
                status,
            )
        )
    return response_object(reply, turn, status, output, builder.usage, None, builder.finish_reason)


def _message_item(item_id: str, content: list[dict[str, Any]], status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def _reasoning_item(
    item_id: str, content: list[dict[str, Any]], encrypted: str | None = None
) -> dict[str, Any]:
    item = {"id": item_id, "type": "reasoning", "summary": [], "content": content}
    if encrypted is not None:
        item["encrypted_content"] = encrypted
    return item


def _call_item(
    item_id: str, call_id: str, name: str, arguments: str, status: str
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


class _Item:
    """An output item while it streams: its index, its body, and its open part's text."""

    __slots__ = ("body", "index", "kind", "pieces", "thinking")

    def __init__(self, index: int, body: dict[str, Any]) -> None:
        self.index = index
        self.body = body
        self.kind: str | None = None
        """The content kind of the open part (or None), for messages and reasoning."""
        self.pieces: list[str] = []
        """The open part's text (or a call's arguments) so far."""
        self.thinking = ThinkingBlocks()
        """A reasoning item's thinking blocks, for its `encrypted_content`."""


class ResponseEvents(StreamFormat):
    """Frames one stream's chunks as Responses API events.

    Every event is `event: <type>` plus `data: {"type", "sequence_number", ...}`. Once
    the provider has finished (`finish()`), the final response object is in `final`.
    """

    keepalive = KEEPALIVE

    def __init__(self, reply: Reply, turn: ResponsesTurn) -> None:
        self._reply = reply
        self._turn = turn
        self._last: bytes | None = None
        self._suffix = reply.id.removeprefix("resp_")
        self._sequence = 0
        self._started = False
        self._output: list[dict[str, Any]] = []
        self._text: _Item | None = None
        """The open message or reasoning item."""
        self._calls: dict[int, _Item] = {}
        """The open function calls, by the provider's tool-call index."""
        self._closed_calls: set[int] = set()
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.chunks = 0
        self.final: dict[str, Any] | None = None

    def _event(self, kind: str, data: dict[str, Any]) -> bytes:
        data = {"type": kind, "sequence_number": self._sequence, **data}
        self._sequence += 1
        self.chunks += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        response = response_object(self._reply, self._turn, "in_progress", [])
        return self._event("response.created", {"response": response}) + self._event(
            "response.in_progress", {"response": response}
        )

    def frame(self, chunk: Chunk) -> bytes | None:
        """Chunks are well formed (`core.chunk_shape`): no checks here."""
        if chunk.get("usage") is not None:
            self.usage = chunk["usage"]
        out = self._start()
        for choice in chunk["choices"]:
            delta = choice.get("delta") or {}
            for field, kind in _PART_KINDS.items():
                piece = delta.get(field)
                if piece:
                    out += self._text_piece(kind, piece)
            for block in delta.get("thinking_blocks") or ():
                out += self._thinking_piece(block)
            for fragment in delta.get("tool_calls") or ():
                out += self._call_fragment(fragment)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return out or None

    def _thinking_piece(self, piece: ThinkingBlockDelta) -> bytes:
        """Kept for the reasoning item's `encrypted_content` (its text streamed as
        `reasoning_content`); a redacted block alone opens a reasoning item."""
        out = b""
        if self._text is None or self._text.body["type"] != "reasoning":
            out += self._close_all("completed") + self._open_text_item("reasoning")
        assert self._text is not None
        self._text.thinking.add(piece)
        return out

    def _text_piece(self, kind: str, piece: str) -> bytes:
        out = b""
        item = self._text
        item_type = "reasoning" if kind == "reasoning_text" else "message"
        if item is None or item.body["type"] != item_type:
            out += self._close_all("completed")
            out += self._open_text_item(item_type)
            item = self._text
            assert item is not None
        if item.kind != kind:
            out += self._close_part(item)
            out += self._open_part(item, kind)
        item.pieces.append(piece)
        fields = {
            "item_id": item.body["id"],
            "output_index": item.index,
            "content_index": len(item.body["content"]),
            "delta": piece,
        }
        if kind == "output_text":
            fields["logprobs"] = []
        return out + self._event(_EVENT[kind] + ".delta", fields)

    def _open_text_item(self, item_type: str) -> bytes:
        index = len(self._output)
        if item_type == "reasoning":
            body = _reasoning_item(f"rs_{self._suffix}_{index}", [])
        else:
            body = _message_item(f"msg_{self._suffix}_{index}", [], "in_progress")
        self._text = _Item(index, body)
        self._output.append(body)
        return self._event("response.output_item.added", {"output_index": index, "item": body})

    def _open_part(self, item: _Item, kind: str) -> bytes:
        item.kind = kind
        initial, field = _PART[kind]
        return self._event(
            "response.content_part.added",
            {
                "item_id": item.body["id"],
                "output_index": item.index,
                "content_index": len(item.body["content"]),
                "part": {**initial, field: ""},
            },
        )

    def _close_part(self, item: _Item) -> bytes:
        kind = item.kind
        if kind is None:
            return b""
        initial, field = _PART[kind]
        text = "".join(item.pieces)
        part = {**initial, field: text}
        where = {
            "item_id": item.body["id"],
            "output_index": item.index,
            "content_index": len(item.body["content"]),
        }
        done = {**where, field: text}
        if kind == "output_text":
            done["logprobs"] = []
        item.body["content"].append(part)
        item.kind = None
        item.pieces = []
        return self._event(_EVENT[kind] + ".done", done) + self._event(
            "response.content_part.done", {**where, "part": part}
        )

    def _call_fragment(self, fragment: ToolCallDelta) -> bytes:
        function = fragment.get("function") or {}
        key = fragment.get("index")
        if key is None:
            key = len(self._calls) + len(self._closed_calls) if fragment.get("id") else 0
        out = b""
        call = self._calls.get(key)
        if call is None:
            if key in self._closed_calls:
                raise UpstreamFailed("The provider sent a tool call fragment out of order.")
            out += self._close_text("completed")
            index = len(self._output)
            body = _call_item(
                f"fc_{self._suffix}_{index}",
                fragment.get("id") or f"call_{self._suffix}_{index}",
                function.get("name") or "",
                "",
                "in_progress",
            )
            call = self._calls[key] = _Item(index, body)
            self._output.append(body)
            out += self._event("response.output_item.added", {"output_index": index, "item": body})
        elif function.get("name"):
            call.body["name"] += function["name"]
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            call.pieces.append(arguments)
            out += self._event(
                "response.function_call_arguments.delta",
                {"item_id": call.body["id"], "output_index": call.index, "delta": arguments},
            )
        return out

    def _close_text(self, status: str) -> bytes:
        item = self._text
        if item is None:
            return b""
        self._text = None
        out = self._close_part(item)
        if item.body["type"] == "message":
            item.body["status"] = status
        elif (encrypted := encrypted_content(item.thinking.blocks)) is not None:
            item.body["encrypted_content"] = encrypted
        return out + self._event(
            "response.output_item.done", {"output_index": item.index, "item": item.body}
        )

    def _close_calls(self, status: str) -> bytes:
        out = b""
        for key, call in self._calls.items():
            call.body["arguments"] = "".join(call.pieces)
            call.body["status"] = status
            where = {"item_id": call.body["id"], "output_index": call.index}
            out += self._event(
                "response.function_call_arguments.done",
                {**where, "name": call.body["name"], "arguments": call.body["arguments"]},
            )
            out += self._event(
                "response.output_item.done", {"output_index": call.index, "item": call.body}
            )
            self._closed_calls.add(key)
        self._calls = {}
        return out

    def _close_all(self, status: str) -> bytes:
        return self._close_text(status) + self._close_calls(status)

    async def finish(self) -> None:
        """The provider has finished: build the last events, and with them `final`."""
        self._last = self._last_events()

    def ending(self) -> bytes:
        return self._last if self._last is not None else self._last_events()

    def _last_events(self) -> bytes:
        """Close the open items, then `response.completed` (or `.incomplete`)."""
        status = status_for(self.finish_reason)
        out = self._start() + self._close_all(status)
        self.final = response_object(
            self._reply, self._turn, status, self._output, self.usage, None, self.finish_reason
        )
        return out + self._event(f"response.{status}", {"response": self.final})

    def error(self, error: GatewayError) -> bytes:
        """`response.failed`, with the output so far, ends a stream that failed."""
        response = response_object(
            self._reply, self._turn, "failed", self._snapshot(), self.usage, error
        )
        return self._start() + self._event("response.failed", {"response": response})

    def _snapshot(self) -> list[dict[str, Any]]:
        """The output so far, the open items marked incomplete with the text they have."""
        output = list(self._output)
        for item in (self._text, *self._calls.values()):
            if item is None:
                continue
            body = dict(item.body)
            if body["type"] == "function_call":
                body["arguments"] = "".join(item.pieces)
            elif item.kind is not None:
                initial, field = _PART[item.kind]
                body["content"] = [*body["content"], {**initial, field: "".join(item.pieces)}]
            if "status" in body:
                body["status"] = "incomplete"
            output[item.index] = body
        return output
