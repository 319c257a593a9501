"""The Messages door's pass-through: to a route whose provider speaks Anthropic's Messages
API, a request goes as the client sent it and the answer comes back as the provider sent
it (`providers.anthropic_native`), so prompt caching, thinking signatures, documents and
every other field the protocol defines reach both ends unchanged.

The gateway still decides what is spent: a transport-shaped field is a 400 (as on every
path), and what costs beyond tokens or reaches outside the request passes only where
the route's `allow` option lets it (`config.Allowances`): server tools, MCP servers,
containers, files, a service tier other than `standard_only`. `anthropic-beta` values
pass when they are among `DEFAULT_BETAS` (what Claude Code sends in a plain session) or
the route's `allow.betas`; others are left out (and logged), not refused, so that a
client which sends a new beta keeps working without the feature.
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
from gateway.doors.messages_errors import error_event
from gateway.doors.messages_events import PING
from gateway.doors.messages_request import CHARS_PER_TOKEN, IMAGE_TOKENS, MESSAGE_TOKENS
from gateway.doors.validate import expect_boolean, expect_object, expect_string
from gateway.errors import NotAllowed
from gateway.params import MESSAGES_FIELDS, is_transport_field, transport_field_refused

CLIENT_TOOLS = frozenset({"bash", "text_editor", "computer", "memory"})
"""Anthropic-defined tools that the client runs: no different from its own tools."""

DEFAULT_BETAS = frozenset(
    {
        # What Claude Code 2.1 sends in a plain session.
        "claude-code",
        "interleaved-thinking",
        "context-management",
        "effort",
        "advanced-tool-use",
        "mid-conversation-tool-changes",
        "thinking-token-count",
        # Its other betas that change only how tokens are used or counted.
        "fine-grained-tool-streaming",
        "prompt-caching-scope",
        "token-efficient-tools",
        "extended-cache-ttl",
    }
)
"""`anthropic-beta` names (without their date) that change only how tokens are used:
server tools, MCP, files and containers, which spend beyond them, are governed by the
request's fields whatever the betas say."""

GOVERNED_HEADERS = frozenset({"anthropic-beta", "anthropic-version", "x-api-key"})
"""Headers the gateway decides itself, whatever the operator forwards."""

_VERSION = re.compile(r"([_-]\d{8}|-\d{4}-\d{2}-\d{2})$")


def _name(versioned: str) -> str:
    """`web_search_20250305` → `web_search`; `context-management-2025-06-27` →
    `context-management`; `claude-code-20250219` → `claude-code`."""
    return _VERSION.sub("", versioned)


class MessagesPassthrough(Passthrough):
    protocol: NativeProtocol = "messages"

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
        upstream = {k: v for k, v in forwarded.items() if k not in GOVERNED_HEADERS}
        betas, left_out_betas = _betas(headers.get("anthropic-beta", ""), route.allow)
        if betas:
            upstream["anthropic-beta"] = ",".join(betas)
        left_out = {f"anthropic-beta: {name}" for name in left_out_betas}
        if route.claude_on_bedrock:  # LiteLLM's interface takes these fields only
            left_out |= request.keys() - MESSAGES_FIELDS - {"model", "stream"}
        return NativeRequest(
            body=request,
            model=expect_string(request.get("model"), "model"),
            stream=stream,
            include_usage=stream,
            left_out=frozenset(left_out),
            headers=upstream,
        )

    def stream_format(self) -> NativeEvents:
        return NativeEvents()

    def usage(self, answer: bytes) -> Usage | None:
        counts = self.answer_object(answer).get("usage")
        return internal_usage(counts) if isinstance(counts, dict) else None

    def estimate_input_tokens(self, body: dict[str, Any]) -> int:
        """The chat path's estimate (characters / 4, a fixed cost per message and per
        image or document) over the system prompt, the messages' text, tool calls and
        results, and the tools; malformed parts count as nothing."""
        messages = body.get("messages")
        tokens = MESSAGE_TOKENS * len(messages) if isinstance(messages, list) else 0
        chars = len(orjson.dumps(body.get("tools"))) if "tools" in body else 0
        system = body.get("system")
        blocks = [{"type": "text", "text": system}] if isinstance(system, str) else []
        blocks += [b for b in system if isinstance(b, dict)] if isinstance(system, list) else []
        for block in [*blocks, *_content_blocks(messages)]:
            kind = block.get("type")
            if kind in ("image", "document"):
                tokens += IMAGE_TOKENS
            elif kind == "tool_use":
                chars += len(orjson.dumps(block.get("input")))
            for field in ("text", "content"):
                value = block.get(field)
                chars += len(value) if isinstance(value, str) else 0
        return tokens + math.ceil(chars / CHARS_PER_TOKEN)


def _check_allowed(request: dict[str, Any], allow: Allowances) -> None:
    """`NotAllowed` for the first thing the route does not allow. Malformed parts are
    left for the provider to refuse: they cannot be run, so they cost nothing."""
    tools = request.get("tools")
    for i, tool in enumerate(tools if isinstance(tools, list) else ()):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if isinstance(kind, str) and kind != "custom":
            name = _name(kind)
            if name not in CLIENT_TOOLS and name not in allow.server_tools:
                raise NotAllowed(
                    f"The server tool '{name}' is not allowed on this model.",
                    param=f"tools[{i}].type",
                )
    features = set()
    if request.get("mcp_servers") is not None:
        features.add("mcp_servers")
    if request.get("container") is not None:
        features.add("container")
    if request.get("service_tier", "standard_only") != "standard_only":
        features.add("service_tier")
    for block in _content_blocks(request.get("messages")):
        source = block.get("source")
        if isinstance(source, dict) and source.get("type") == "file":
            features.add("files")
        if block.get("type") == "container_upload":
            features.add("container")
    if refused := sorted(features - allow.features):
        raise NotAllowed(f"'{refused[0]}' is not allowed on this model.", param=refused[0])


def _content_blocks(messages: object) -> Iterator[dict[str, Any]]:
    """Every content block of every message, those inside tool results included."""
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict):
                yield block
                inner = block.get("content")
                for part in inner if isinstance(inner, list) else ():
                    if isinstance(part, dict):
                        yield part


def _betas(header: str, allow: Allowances) -> tuple[list[str], list[str]]:
    """The `anthropic-beta` values that pass, and those left out."""
    passed: list[str] = []
    left_out: list[str] = []
    for value in (part.strip() for part in header.split(",")):
        if not value:
            continue
        allowed = _name(value) in DEFAULT_BETAS or value in allow.betas
        (passed if allowed else left_out).append(value)
    return passed, left_out


def internal_usage(counts: dict[str, Any]) -> Usage:
    """Anthropic's usage in the internal shape, which is Anthropic's own: `input_tokens`
    excludes the cache reads and writes. Only for the request log and metrics (the client
    gets the provider's bytes), so a count that is not a whole number is taken as 0."""

    def count(name: str) -> int:
        value = counts.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    return {
        "input_tokens": count("input_tokens"),
        "cache_read_tokens": count("cache_read_input_tokens"),
        "cache_write_tokens": count("cache_creation_input_tokens"),
        "output_tokens": count("output_tokens"),
    }


class NativeEvents(NativeFormat):
    """The provider's events, passed on as they came; the usage they report is noted
    for settlement and the request log (only `message_start` and `message_delta` are
    parsed, and the content deltas counted)."""

    __slots__ = ("_counts", "chunks", "generated", "usage", "usage_complete")

    keepalive = PING
    error = staticmethod(error_event)

    def __init__(self) -> None:
        self.chunks = 0
        self.generated = 0
        self.usage: Usage | None = None
        self.usage_complete = False
        self._counts: dict[str, Any] = {}

    def frame(self, item: bytes) -> bytes:
        self.chunks += 1
        if item.startswith(b"event: content_block_delta"):
            self.generated += 1
        elif item.startswith(b"event: message_start"):
            self._note_usage(item)
        elif item.startswith(b"event: message_delta"):
            self._note_usage(item)
            self.usage_complete = self.usage is not None  # its output count is the total
        return item

    def _note_usage(self, event: bytes) -> None:
        try:
            data = orjson.loads(event.partition(b"\ndata:")[2])
        except orjson.JSONDecodeError:
            return  # the client reads the event as it is; the log has no usage from it
        if not isinstance(data, dict):
            return
        message = data.get("message")
        counts = (message if isinstance(message, dict) else data).get("usage")
        if isinstance(counts, dict):
            self._counts.update(counts)  # message_delta's counts are totals
            self.usage = internal_usage(self._counts)

    def ending(self) -> bytes:
        return b""  # the provider's own `message_stop` has ended the stream


MESSAGES_PASSTHROUGH = MessagesPassthrough()
