"""The Responses door's pass-through: to a route whose provider serves OpenAI's Responses
API (`ModelRoute.responses_api`), a request goes as the client sent it and the answer
comes back as the provider sent it (`providers.openai_responses`), so reasoning items
with their `encrypted_content`, `include`, `prompt_cache_key`, `text.format` and
reasoning summaries reach both ends unchanged.

The gateway still decides what is spent: a transport-shaped field is a 400 (as on every
path), and what costs beyond tokens or reaches outside the request passes only where
the route's `allow` option lets it (`config.Allowances`): hosted tools, `background`,
`conversation` and `item_reference` inputs (state the provider keeps under the
operator's key, which every tenant shares), stored `prompt` templates, file ids, a
service tier other than `auto` or `default`. Web search is the exception: Codex sends a
`web_search` tool in every plain session, so without an allowance it is left out of the
request (and logged), not refused, and Codex keeps working without search.

`previous_response_id` is governed where the tenant is known (`responses_state`): it
passes only for a response the gateway handed this tenant.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from gateway.config import Allowances, ModelRoute, NativeProtocol
from gateway.core.chunks import Usage
from gateway.doors.base import NativeFormat, NativeRequest, Passthrough
from gateway.doors.messages_request import CHARS_PER_TOKEN, IMAGE_TOKENS, MESSAGE_TOKENS
from gateway.doors.responses_events import KEEPALIVE, response_error
from gateway.doors.validate import expect_boolean, expect_object, expect_string
from gateway.errors import GatewayError, NotAllowed
from gateway.params import is_transport_field, transport_field_refused

TOKEN_ONLY_TOOLS = frozenset(
    {
        "function",
        "custom",
        "local_shell",
        "shell",
        "apply_patch",
        "computer",
        "computer_use_preview",
        "namespace",
        "tool_search",
    }
)
"""Tool types that spend only tokens: the client runs them (a `shell` too, unless its
`environment` is a hosted container), or they group or search the request's own tools
(`namespace`, `tool_search`)."""

LEFT_OUT_TOOLS = frozenset({"web_search"})
"""Hosted tools left out of the request, rather than refused, on a route that does not
allow them: Codex sends them in a plain session."""

FREE_TIERS = frozenset({"auto", "default"})

_VERSION = re.compile(r"_\d{4}_\d{2}_\d{2}$")


def tool_name(kind: str) -> str:
    """A hosted tool's name as `allow.server_tools` lists it: without its date, and web
    search by one name (`web_search_preview_2025_03_11` → `web_search`)."""
    name = _VERSION.sub("", kind)
    return "web_search" if name.startswith("web_search") else name


class ResponsesPassthrough(Passthrough):
    protocol: NativeProtocol = "responses"

    def model(self, body: object) -> str | None:
        model = body.get("model") if isinstance(body, dict) else None
        return model if isinstance(model, str) else None

    def check(
        self,
        body: object,
        route: ModelRoute,
        headers: Mapping[str, str],
        forwarded: Mapping[str, str],
    ) -> NativeRequest:
        request = expect_object(body, "body")
        for name in request:
            if is_transport_field(name):
                raise transport_field_refused(name)
        stream = expect_boolean(request.get("stream", False), "stream")
        _check_allowed(request, route.allow)
        request, left_out = _without_unallowed_tools(request, route.allow)
        return NativeRequest(
            body=request,
            model=expect_string(request.get("model"), "model"),
            stream=stream,
            include_usage=stream,
            left_out=frozenset(left_out),
            headers=dict(forwarded),
        )

    def stream_format(self) -> ResponsesNativeEvents:
        return ResponsesNativeEvents()

    def usage(self, answer: bytes) -> Usage | None:
        counts = self.answer_object(answer).get("usage")
        return internal_usage(counts) if isinstance(counts, dict) else None

    def estimate_input_tokens(self, body: dict[str, Any]) -> int:
        """The chat path's estimate (characters / 4, a fixed cost per item and per image
        or file) over the instructions, the input's text, call arguments and outputs, and
        the tools; malformed parts count as nothing."""
        items = body.get("input")
        chars = len(items) if isinstance(items, str) else 0
        items = items if isinstance(items, list) else []
        tokens = MESSAGE_TOKENS * len(items)
        chars += len(orjson.dumps(body.get("tools"))) if "tools" in body else 0
        instructions = body.get("instructions")
        chars += len(instructions) if isinstance(instructions, str) else 0
        for part in _parts(items):
            if part.get("type") in ("input_image", "input_file"):
                tokens += IMAGE_TOKENS
            for field in ("text", "content", "arguments", "output"):
                value = part.get(field)
                chars += len(value) if isinstance(value, str) else 0
        return tokens + math.ceil(chars / CHARS_PER_TOKEN)


def _check_allowed(request: dict[str, Any], allow: Allowances) -> None:
    """`NotAllowed` for the first thing the route does not allow. Malformed parts are
    left for the provider to refuse: they cannot be run, so they cost nothing."""
    tools = request.get("tools")
    for i, tool in enumerate(tools if isinstance(tools, list) else ()):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if isinstance(kind, str) and kind not in TOKEN_ONLY_TOOLS:
            name = tool_name(kind)
            if name not in allow.server_tools and name not in LEFT_OUT_TOOLS:
                raise NotAllowed(
                    f"The server tool '{name}' is not allowed on this model.",
                    param=f"tools[{i}].type",
                )
    features = set()
    for tool in tools if isinstance(tools, list) else ():
        environment = tool.get("environment") if isinstance(tool, dict) else None
        if isinstance(environment, dict) and environment.get("type", "local") != "local":
            features.add("container")
    if request.get("background") is True:
        features.add("background")
    if request.get("conversation") is not None:
        features.add("conversation")
    if request.get("prompt") is not None:
        features.add("prompt")
    if request.get("service_tier", "auto") not in FREE_TIERS:
        features.add("service_tier")
    items = request.get("input")
    for part in _parts(items if isinstance(items, list) else []):
        if part.get("type") == "item_reference":
            features.add("conversation")
        if part.get("file_id") is not None:
            features.add("files")
    if refused := sorted(features - allow.features):
        raise NotAllowed(f"'{refused[0]}' is not allowed on this model.", param=refused[0])


def _without_unallowed_tools(
    request: dict[str, Any], allow: Allowances
) -> tuple[dict[str, Any], list[str]]:
    """The request without the `LEFT_OUT_TOOLS` the route does not allow (it is the
    client's own object when none is left out), and what was left out."""
    tools = request.get("tools")
    if not isinstance(tools, list):
        return request, []
    kept: list[Any] = []
    left_out: list[str] = []
    for i, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        name = tool_name(kind) if isinstance(kind, str) and kind not in TOKEN_ONLY_TOOLS else None
        if name in LEFT_OUT_TOOLS and name not in allow.server_tools:
            left_out.append(f"tools[{i}]: {kind}")
        else:
            kept.append(tool)
    return ({**request, "tools": kept} if left_out else request), left_out


def _parts(items: list[Any]) -> Iterator[dict[str, Any]]:
    """Every input item and every part of its content (or of a tool call's output)."""
    for item in items:
        if not isinstance(item, dict):
            continue
        yield item
        for field in ("content", "output"):
            parts = item.get(field)
            for part in parts if isinstance(parts, list) else ():
                if isinstance(part, dict):
                    yield part


def internal_usage(counts: dict[str, Any]) -> Usage:
    """The Responses API's usage in the internal shape: OpenAI counts the cache reads
    (`input_tokens_details.cached_tokens`) inside `input_tokens`, the internal shape apart.
    Only for the request log and metrics (the client gets the provider's bytes), so a
    count that is not a whole number is taken as 0."""

    def count(fields: object, name: str) -> int:
        value = fields.get(name) if isinstance(fields, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    read = count(counts.get("input_tokens_details"), "cached_tokens")
    usage: Usage = {
        "input_tokens": max(count(counts, "input_tokens") - read, 0),
        "cache_read_tokens": read,
        "cache_write_tokens": 0,
        "output_tokens": count(counts, "output_tokens"),
    }
    details = counts.get("output_tokens_details")
    if isinstance(details, dict) and "reasoning_tokens" in details:
        usage["reasoning_tokens"] = count(details, "reasoning_tokens")
    return usage


_CREATED = b"event: response.created"
_FINISHED = (b"event: response.completed", b"event: response.incomplete")


class ResponsesNativeEvents(NativeFormat):
    """The provider's events, passed on as they came. Only `response.created` (for the
    response's identity, should the gateway have to end the stream itself) and the
    closing event (its usage, and the response kept as `final`) are parsed; the deltas
    are counted."""

    __slots__ = ("_created", "chunks", "final", "generated", "usage", "usage_complete")

    keepalive = KEEPALIVE

    def __init__(self) -> None:
        self.chunks = 0
        self.generated = 0
        self.usage: Usage | None = None
        self.usage_complete = False
        self.final: dict[str, Any] | None = None
        self._created: dict[str, Any] = {}

    def frame(self, item: bytes) -> bytes:
        self.chunks += 1
        if item.startswith(b"event: response.") and item[: item.find(b"\n")].endswith(b".delta"):
            self.generated += 1
        elif item.startswith(_CREATED):
            self._created = _response_of(item) or {}
        elif item.startswith(_FINISHED):
            self.final = _response_of(item)
            counts = None if self.final is None else self.final.get("usage")
            if isinstance(counts, dict):
                self.usage = internal_usage(counts)
                self.usage_complete = True
        return item

    def ending(self) -> bytes:
        return b""  # the provider's own closing event has ended the stream

    def error(self, error: GatewayError) -> bytes:
        """`response.failed` for the response the provider created (as the translated
        door ends a failed stream), with the gateway's error."""
        response = {**self._created, "status": "failed", "error": response_error(error)}
        event = {"type": "response.failed", "sequence_number": self.chunks, "response": response}
        return b"event: response.failed\ndata: " + orjson.dumps(event) + b"\n\n"


def _response_of(event: bytes) -> dict[str, Any] | None:
    """The `response` object of a `response.*` lifecycle event."""
    try:
        data = orjson.loads(event.partition(b"\ndata:")[2])
    except orjson.JSONDecodeError:
        return None  # the client reads the event as it is; the gateway learns nothing
    response = data.get("response") if isinstance(data, dict) else None
    return response if isinstance(response, dict) else None


RESPONSES_PASSTHROUGH = ResponsesPassthrough()
