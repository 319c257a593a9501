"""A stand-in for OpenAI's Responses API, strict where the real one is strict.

It refuses what the real API refuses and a careless gateway would send: a wrong key,
top-level fields it does not know, a `reasoning` input item whose `encrypted_content` it
did not issue (its ciphertexts are HMACs of the reasoning's id, so a dropped, altered or
invented one fails), a reasoning item without one that it did not store, and a
`previous_response_id` it did not store. Reasoning items carry `encrypted_content` when
`include` asks for `reasoning.encrypted_content`. It reports cached input
(`input_tokens_details.cached_tokens`, counted inside `input_tokens`) when a request
repeats the instructions and tools of an earlier one under the same `prompt_cache_key`
(the real API caches without a key too; here only with one, so that a test sees the key
arrive). It records every request (body and headers) and the bytes of every answer, and
streams the real event sequence: `response.created`, `response.in_progress`, per item
`response.output_item.added`, its parts and deltas, `response.output_item.done`, then
`response.completed` with the usage.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

KNOWN_FIELDS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "include",
        "stream",
        "stream_options",
        "store",
        "previous_response_id",
        "conversation",
        "prompt",
        "prompt_cache_key",
        "prompt_cache_retention",
        "reasoning",
        "text",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "max_output_tokens",
        "max_tool_calls",
        "temperature",
        "top_p",
        "top_logprobs",
        "truncation",
        "metadata",
        "user",
        "safety_identifier",
        "service_tier",
        "background",
        "context_management",
        # What Codex sends besides the documented fields.
        "client_metadata",
    }
)
"""The top-level fields of the Responses API (the documented ones, and Codex's)."""

CACHED_PREFIX_TOKENS = 1536
INPUT_TOKENS = 20
OUTPUT_TOKENS = 30
REASONING_TOKENS = 12


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]
    sent: bytearray = field(default_factory=bytearray)
    """The bytes of the answer, as written."""
    gone: threading.Event = field(default_factory=threading.Event)
    """Set when the client went away before the answer was complete."""


Item = dict[str, Any]


def reasoning(summary: str) -> Item:
    return {"type": "reasoning", "summary": [{"type": "summary_text", "text": summary}]}


def message(text: str) -> Item:
    return {
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def function_call(name: str, arguments: dict[str, Any], call_id: str = "call_1") -> Item:
    return {
        "type": "function_call",
        "status": "completed",
        "call_id": call_id,
        "name": name,
        "arguments": json.dumps(arguments),
    }


class ResponsesStandIn:
    """Answers each request with the next scripted turn (a list of output items; default:
    a reasoning item and a message), or with `fail` (status, message) once."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self._secret = b"stand-in-encryption-key"
        self.turns: list[list[Item]] = []
        self.fail: tuple[int, str] | None = None
        self.fail_in_stream: tuple[str, str] | None = None
        """Stream `response.created`, then `response.failed` with this (code, message)."""
        self.hold = False
        """Stream `response.created`, then nothing until the client goes away."""
        self.received: list[Received] = []
        self._stored: dict[str, dict[str, Any]] = {}
        self._stored_items: set[str] = set()
        self._cached_prefixes: set[str] = set()
        self._ids = itertools.count(1)
        self.app = Starlette(routes=[Route("/responses", self._responses, methods=["POST"])])

    def reset(self) -> None:
        self.turns.clear()
        self.fail = self.fail_in_stream = None
        self.hold = False
        self.received.clear()
        self._cached_prefixes.clear()

    @property
    def last(self) -> Received:
        return self.received[-1]

    def encrypt(self, item_id: str) -> str:
        digest = hmac.new(self._secret, item_id.encode(), hashlib.sha256).digest()
        return "gAAA" + base64.b64encode(digest).decode()

    def stored(self, response_id: str) -> bool:
        return response_id in self._stored

    # The API

    async def _responses(self, request: Request) -> Response:
        body = json.loads(await request.body())
        received = Received(dict(request.headers), body)
        self.received.append(received)
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", code="invalid_api_key")
        if self.fail is not None:
            (status, text), self.fail = self.fail, None
            return _error(status, text)
        if problem := self._invalid(body):
            return _error(400, *problem)
        response = self._answer(body)
        if body.get("stream"):
            return StreamingResponse(
                self._stream(response, received, request), media_type="text/event-stream"
            )
        answer = JSONResponse(response)
        received.sent += answer.body
        return answer

    def _invalid(self, body: dict[str, Any]) -> tuple[str, str | None, str | None] | None:
        """(message, param, code) of the first thing the real API would refuse."""
        for name in body:
            if name not in KNOWN_FIELDS:
                return f"Unknown parameter: '{name}'.", name, "unknown_parameter"
        previous = body.get("previous_response_id")
        if previous is not None and previous not in self._stored:
            return (
                f"Previous response with id '{previous}' not found.",
                "previous_response_id",
                "previous_response_not_found",
            )
        items = body.get("input")
        for i, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict) or item.get("type") != "reasoning":
                continue
            where = f"input[{i}]"
            sealed = item.get("encrypted_content")
            if sealed is None and item.get("id") not in self._stored_items:
                return (
                    f"Item with id '{item.get('id')}' not found. Items are not persisted when "
                    "`store` is set to false.",
                    where,
                    None,
                )
            if sealed is not None and sealed != self.encrypt(str(item.get("id"))):
                return (
                    f"The encrypted content for item {item.get('id')} could not be verified.",
                    f"{where}.encrypted_content",
                    "invalid_encrypted_content",
                )
        return None

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        items = self.turns.pop(0) if self.turns else [reasoning("Thinking."), message("Hello.")]
        encrypted = "reasoning.encrypted_content" in (body.get("include") or [])
        output = [self._finished(item, encrypted) for item in items]
        response = {
            "id": f"resp_standin{next(self._ids):04d}",
            "object": "response",
            "created_at": int(time.time()),
            "status": "completed",
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": body["model"],
            "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "prompt_cache_key": body.get("prompt_cache_key"),
            "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": body.get("text") or {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools", []),
            "top_p": body.get("top_p", 1.0),
            "truncation": body.get("truncation", "disabled"),
            "usage": self._usage(body),
            "user": None,
            "metadata": body.get("metadata") or {},
        }
        if response["store"]:
            self._stored[response["id"]] = response
            self._stored_items.update(item["id"] for item in output)
        return response

    def _finished(self, item: Item, encrypted: bool) -> Item:
        prefix = {"reasoning": "rs", "message": "msg", "function_call": "fc"}[item["type"]]
        finished = {"id": f"{prefix}_standin{next(self._ids):04d}", **item}
        if item["type"] == "reasoning" and encrypted:
            finished["encrypted_content"] = self.encrypt(finished["id"])
        return finished

    def _usage(self, body: dict[str, Any]) -> dict[str, Any]:
        cached = 0
        key = body.get("prompt_cache_key")
        if key is not None:
            prefix = json.dumps([key, body.get("instructions"), body.get("tools")], sort_keys=True)
            cached = CACHED_PREFIX_TOKENS if prefix in self._cached_prefixes else 0
            self._cached_prefixes.add(prefix)
        return {
            "input_tokens": INPUT_TOKENS + cached,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": OUTPUT_TOKENS,
            "output_tokens_details": {"reasoning_tokens": REASONING_TOKENS},
            "total_tokens": INPUT_TOKENS + cached + OUTPUT_TOKENS,
        }

    async def _stream(
        self, response: dict[str, Any], received: Received, request: Request
    ) -> AsyncIterator[bytes]:
        try:
            for n, event in enumerate(_events(response)):
                received.sent += event
                yield event
                if n == 0 and self.fail_in_stream is not None:
                    code, text = self.fail_in_stream
                    failed = {
                        **response,
                        "status": "failed",
                        "output": [],
                        "error": {"code": code, "message": text},
                    }
                    yield _event(
                        {"type": "response.failed", "sequence_number": 1, "response": failed}
                    )
                    return
                if n == 0 and self.hold:
                    # Silent, as a provider that is thinking: only polling sees the client go.
                    while not await request.is_disconnected():  # noqa: ASYNC110
                        await asyncio.sleep(0.02)
                    return
        finally:
            if b"event: response.completed" not in received.sent:
                received.gone.set()


def _event(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def _events(response: dict[str, Any]) -> Iterator[bytes]:
    """The response as OpenAI streams it, every event numbered."""
    sequence = itertools.count()
    start = {**response, "status": "in_progress", "output": [], "usage": None}
    for kind in ("response.created", "response.in_progress"):
        yield _event({"type": kind, "sequence_number": next(sequence), "response": start})
    for index, item in enumerate(response["output"]):
        for event in _item_events(index, item):
            yield _event({**event, "sequence_number": next(sequence)})
    yield _event(
        {"type": "response.completed", "sequence_number": next(sequence), "response": response}
    )


def _item_events(index: int, item: Item) -> Iterator[dict[str, Any]]:
    where = {"item_id": item["id"], "output_index": index}
    kind = item["type"]
    opened = {
        "reasoning": {"id": item["id"], "type": "reasoning", "summary": []},
        "message": {**item, "status": "in_progress", "content": []},
        "function_call": {**item, "status": "in_progress", "arguments": ""},
    }[kind]
    yield {"type": "response.output_item.added", "output_index": index, "item": opened}
    if kind == "reasoning":
        for n, part in enumerate(item["summary"]):
            at = {**where, "summary_index": n}
            yield {
                "type": "response.reasoning_summary_part.added",
                **at,
                "part": {"type": "summary_text", "text": ""},
            }
            for piece in _halves(part["text"]):
                yield {"type": "response.reasoning_summary_text.delta", **at, "delta": piece}
            yield {"type": "response.reasoning_summary_text.done", **at, "text": part["text"]}
            yield {"type": "response.reasoning_summary_part.done", **at, "part": part}
    elif kind == "message":
        for n, part in enumerate(item["content"]):
            at = {**where, "content_index": n}
            yield {"type": "response.content_part.added", **at, "part": {**part, "text": ""}}
            for piece in _halves(part["text"]):
                yield {"type": "response.output_text.delta", **at, "delta": piece, "logprobs": []}
            yield {"type": "response.output_text.done", **at, "text": part["text"], "logprobs": []}
            yield {"type": "response.content_part.done", **at, "part": part}
    else:
        for piece in _halves(item["arguments"]):
            yield {"type": "response.function_call_arguments.delta", **where, "delta": piece}
        yield {
            "type": "response.function_call_arguments.done",
            **where,
            "arguments": item["arguments"],
        }
    yield {"type": "response.output_item.done", "output_index": index, "item": item}


def _halves(text: str) -> tuple[str, str]:
    half = len(text) // 2
    return text[:half], text[half:]


def _error(status: int, text: str, param: str | None = None, code: str | None = None) -> Response:
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = {"error": {"message": text, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status)
