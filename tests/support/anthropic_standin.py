"""A stand-in for Anthropic's Messages API, strict where the real one is strict.

It refuses what the real API refuses and a careless gateway would send: a wrong key, no
`anthropic-version`, top-level fields it does not know, an assistant turn that called a
tool without its thinking blocks while thinking is on, and a thinking block whose
signature it did not issue (its signatures are HMACs of the thinking text, so an altered
text or signature fails). It records every request (body and headers) and the bytes of
every answer, reports prompt-cache usage (a write the first time a cached prefix is
seen, a read after), and streams with `ping` events.

It also answers as Claude on Amazon Bedrock does (`InvokeModel` and
`InvokeModelWithResponseStream` at `/model/{id}/invoke[-with-response-stream]`): the same
body without `model` and `stream`, with `anthropic_version`, a SigV4-signed request, and
a stream of Anthropic's events each base64-encoded in an AWS event-stream frame.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import struct
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

KNOWN_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "metadata",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "tools",
        "tool_choice",
        "thinking",
        "service_tier",
        "container",
        "mcp_servers",
        "context_management",
        "output_config",
        "cache_control",
    }
)
"""The top-level fields of Anthropic's Messages API (the documented ones)."""

CACHED_PREFIX_TOKENS = 2048
INPUT_TOKENS = 12
OUTPUT_TOKENS = 34


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]
    sent: bytearray = field(default_factory=bytearray)
    """The bytes of the answer, as written."""
    gone: threading.Event = field(default_factory=threading.Event)
    """Set when the client went away before the answer was complete."""
    path: str = "/v1/messages"


Block = dict[str, Any]


def thinking(text: str) -> Block:
    return {"type": "thinking", "thinking": text}


def text(value: str) -> Block:
    return {"type": "text", "text": value}


def tool_use(name: str, arguments: dict[str, Any], call_id: str = "toolu_01") -> Block:
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


REDACTED: Block = {"type": "redacted_thinking"}


class AnthropicStandIn:
    """Answers each request with the next scripted turn (a list of blocks; default: a
    thinking block and a text), or with `fail` (status, error type, message) once."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self._secret = b"stand-in-signing-key"
        self.turns: list[list[Block]] = []
        self.fail: tuple[int, str, str] | None = None
        self.hold = False
        """Stream `message_start`, then only pings until the client goes away."""
        self.received: list[Received] = []
        self._cached_prefixes: set[str] = set()
        self._issued_redactions: set[str] = set()
        self.app = Starlette(
            routes=[
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/model/{model_id}/invoke", self._bedrock, methods=["POST"]),
                Route(
                    "/model/{model_id}/invoke-with-response-stream", self._bedrock, methods=["POST"]
                ),
            ]
        )

    def reset(self) -> None:
        self.turns.clear()
        self.fail = None
        self.hold = False
        self.received.clear()
        self._cached_prefixes.clear()

    @property
    def last(self) -> Received:
        return self.received[-1]

    def sign(self, thinking_text: str) -> str:
        digest = hmac.new(self._secret, thinking_text.encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    # The API

    async def _messages(self, request: Request) -> Response:
        body = json.loads(await request.body())
        received = Received(dict(request.headers), body)
        self.received.append(received)
        if request.headers.get("x-api-key") != self.api_key:
            return _error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return _error(400, "invalid_request_error", "anthropic-version: header is required")
        if self.fail is not None:
            (status, kind, message), self.fail = self.fail, None
            return _error(status, kind, message)
        if problem := self._invalid(body):
            return _error(400, "invalid_request_error", problem)
        message = self._answer(body)
        if body.get("stream"):
            return StreamingResponse(
                self._stream(_events(message), received, request), media_type="text/event-stream"
            )
        response = JSONResponse(message)
        received.sent += response.body
        return response

    async def _bedrock(self, request: Request) -> Response:
        body = json.loads(await request.body())
        received = Received(dict(request.headers), body, path=request.url.path)
        self.received.append(received)
        if not request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 "):
            return JSONResponse({"message": "Missing Authentication Token"}, 403)
        if body.get("anthropic_version") != "bedrock-2023-05-31" or "model" in body:
            return JSONResponse({"message": "Malformed input request"}, 400)
        if problem := self._invalid({k: v for k, v in body.items() if k != "anthropic_version"}):
            return JSONResponse({"message": problem}, 400)
        message = self._answer({**body, "model": request.path_params["model_id"]})
        if request.url.path.endswith("/invoke"):
            response = JSONResponse(message)
            received.sent += response.body
            return response
        events = (e for e in _events(message) if not e.startswith(b"event: ping"))
        return StreamingResponse(
            _frames(self._stream(events, received, request)),
            media_type="application/vnd.amazon.eventstream",
        )

    def _invalid(self, body: dict[str, Any]) -> str | None:
        for name in body:
            if name not in KNOWN_FIELDS:
                return f"{name}: Extra inputs are not permitted"
        thinking_on = (body.get("thinking") or {}).get("type") in ("enabled", "adaptive")
        for i, message in enumerate(body.get("messages", [])):
            content = message.get("content")
            if message.get("role") != "assistant" or not isinstance(content, list):
                continue
            for j, block in enumerate(content):
                where = f"messages.{i}.content.{j}"
                if block.get("type") == "thinking" and block.get("signature") != self.sign(
                    block.get("thinking", "")
                ):
                    return f"{where}: Invalid `signature` in `thinking` block"
                if (
                    block.get("type") == "redacted_thinking"
                    and block.get("data") not in self._issued_redactions
                ):
                    return f"{where}: Invalid `data` in `redacted_thinking` block"
            called = any(block.get("type") == "tool_use" for block in content)
            if thinking_on and called and content[0].get("type") not in _THINKING:
                return (
                    f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, "
                    f"but found `{content[0].get('type')}`. When `thinking` is enabled, an "
                    "assistant message with tool use must start with a thinking block."
                )
        return None

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        blocks = self.turns.pop(0) if self.turns else [thinking("Let me think."), text("Hello.")]
        content = [self._finished(block, n) for n, block in enumerate(blocks)]
        calls = any(block["type"] == "tool_use" for block in content)
        return {
            "id": "msg_standin_" + hashlib.sha256(json.dumps(body).encode()).hexdigest()[:12],
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": "tool_use" if calls else "end_turn",
            "stop_sequence": None,
            "usage": self._usage(body),
        }

    def _finished(self, block: Block, n: int) -> Block:
        if block["type"] == "thinking":
            return {**block, "signature": self.sign(block["thinking"])}
        if block["type"] == "redacted_thinking":
            data = self.sign(f"redacted {n} {len(self._issued_redactions)}")
            self._issued_redactions.add(data)
            return {"type": "redacted_thinking", "data": data}
        return block

    def _usage(self, body: dict[str, Any]) -> dict[str, Any]:
        """A cache write the first time a prefix with breakpoints is seen, a read after."""
        usage = {
            "input_tokens": INPUT_TOKENS,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": OUTPUT_TOKENS,
        }
        if '"cache_control"' in json.dumps(body):
            prefix = json.dumps([body.get("tools"), body.get("system")], sort_keys=True)
            seen = prefix in self._cached_prefixes
            self._cached_prefixes.add(prefix)
            usage["cache_read_input_tokens" if seen else "cache_creation_input_tokens"] = (
                CACHED_PREFIX_TOKENS
            )
        return usage

    async def _stream(
        self, events: Iterable[bytes], received: Received, request: Request
    ) -> AsyncIterator[bytes]:
        try:
            for event in events:
                received.sent += event
                yield event
                if self.hold:
                    while not await request.is_disconnected():
                        received.sent += PING
                        yield PING
                        await asyncio.sleep(0.02)
                    return
        finally:
            if not received.sent.endswith(b'"message_stop"}\n\n'):
                received.gone.set()


_THINKING = ("thinking", "redacted_thinking")
PING = b'event: ping\ndata: {"type": "ping"}\n\n'


def _event(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def _events(message: dict[str, Any]) -> Iterator[bytes]:
    """The message as Anthropic streams it: pings included, text in two deltas."""
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    yield _event({"type": "message_start", "message": start})
    yield PING
    for index, block in enumerate(message["content"]):
        kind = block["type"]
        empty = {
            "thinking": {"type": "thinking", "thinking": "", "signature": ""},
            "text": {"type": "text", "text": ""},
            "tool_use": {**block, "input": {}},
        }.get(kind, block)
        yield _event({"type": "content_block_start", "index": index, "content_block": empty})
        for delta in _deltas(block):
            yield _event({"type": "content_block_delta", "index": index, "delta": delta})
        yield _event({"type": "content_block_stop", "index": index})
    yield _event(
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        }
    )
    yield _event({"type": "message_stop"})


def _deltas(block: Block) -> Iterator[dict[str, Any]]:
    kind = block["type"]
    if kind == "thinking":
        half = len(block["thinking"]) // 2
        yield {"type": "thinking_delta", "thinking": block["thinking"][:half]}
        yield {"type": "thinking_delta", "thinking": block["thinking"][half:]}
        yield {"type": "signature_delta", "signature": block["signature"]}
    elif kind == "text":
        half = len(block["text"]) // 2
        yield {"type": "text_delta", "text": block["text"][:half]}
        yield {"type": "text_delta", "text": block["text"][half:]}
    elif kind == "tool_use":
        arguments = json.dumps(block["input"])
        yield {"type": "input_json_delta", "partial_json": arguments[:3]}
        yield {"type": "input_json_delta", "partial_json": arguments[3:]}


async def _frames(events: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    async for event in events:
        yield _bedrock_frame(event)


def _bedrock_frame(event: bytes) -> bytes:
    """One Anthropic event as Bedrock streams it: `{"bytes": base64(data)}` in an AWS
    event-stream message (prelude, headers, payload, CRCs)."""
    data = event.partition(b"\ndata: ")[2].strip()
    payload = json.dumps({"bytes": base64.b64encode(data).decode()}).encode()
    headers = b"".join(
        bytes([len(name)]) + name + b"\x07" + struct.pack(">H", len(value)) + value
        for name, value in (
            (b":event-type", b"chunk"),
            (b":content-type", b"application/json"),
            (b":message-type", b"event"),
        )
    )
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    head = prelude + struct.pack(">I", binascii.crc32(prelude))
    message = head + headers + payload
    return message + struct.pack(">I", binascii.crc32(message))


def _error(status: int, kind: str, message: str) -> Response:
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status)
