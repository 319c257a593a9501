"""Request bodies just under the default body limit made of the smallest items each door
takes: the most per-item work a body can ask of the gateway (issue 24)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

LIMIT = 4 * 1024 * 1024
"""The default `GATEWAY_MAX_BODY_BYTES`."""
USER = {"role": "user", "content": "x"}
"""The smallest message the Messages door takes (the chat door takes `{"role": "user"}`)."""


def filled(template: Callable[[list[Any]], dict[str, Any]], item: Any) -> dict[str, Any]:
    """`template` around as many copies of `item` as fit in the body limit."""
    room = LIMIT - len(orjson.dumps(template([]))) - 64
    return template([item] * (room // (len(orjson.dumps(item)) + 1)))


def _schema_of(items: list[Any]) -> dict[str, Any]:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"enum": items}}}
    return {"model": "direct", "messages": [USER], "tools": [tool]}


def _blocks(blocks: list[Any]) -> dict[str, Any]:
    return {"model": "direct", "max_tokens": 5, "messages": [USER | {"content": blocks}]}


LARGE_BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "chat, messages": (
        "/v1/chat/completions",
        filled(lambda m: {"model": "direct", "messages": m}, {"role": "user"}),
    ),
    "chat, schema objects": ("/v1/chat/completions", filled(_schema_of, {})),
    "responses, input items": (
        "/v1/responses",
        filled(lambda i: {"model": "direct", "input": i}, USER),
    ),
    "messages, messages": (
        "/v1/messages",
        filled(lambda m: {"model": "direct", "max_tokens": 5, "messages": m}, USER),
    ),
    "messages, blocks": ("/v1/messages", filled(_blocks, {"type": "text", "text": "x"})),
    "count_tokens": (
        "/v1/messages/count_tokens",
        filled(lambda m: {"model": "direct", "messages": m}, USER),
    ),
    "embeddings, inputs": (
        "/v1/embeddings",
        filled(lambda i: {"model": "direct", "input": i}, "x"),
    ),
}
"""Per body: the path it is sent to, and the body. `chat, schema objects` is 4 MiB of
empty objects where no item is counted (a tool's JSON schema): parsing the JSON is all
the work there is."""
