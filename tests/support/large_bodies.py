"""Request bodies just under the default body limit made of the smallest items each door
takes: the most per-item work a body can ask of the gateway (issue 24)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import orjson

from gateway.schema import MAX_ITEMS

LIMIT = 4 * 1024 * 1024
"""The default `GATEWAY_MAX_BODY_BYTES`."""
USER = {"role": "user", "content": "x"}
"""The smallest message the Messages door takes (the chat door takes `{"role": "user"}`)."""


class LargeBody(NamedTuple):
    path: str
    body: dict[str, Any]
    status: int
    """What the gateway answers: 400 when the body holds more items than a request may."""


def filled(template: Callable[[list[Any]], dict[str, Any]], item: Any) -> dict[str, Any]:
    """`template` around as many copies of `item` as fit in the body limit."""
    room = LIMIT - len(orjson.dumps(template([]))) - 64
    return template([item] * (room // (len(orjson.dumps(item)) + 1)))


def padded(template: Callable[[list[Any]], dict[str, Any]], count: int) -> dict[str, Any]:
    """`template` around `count` user messages as long as fit in the body limit."""
    room = LIMIT - len(orjson.dumps(template([USER] * count))) - 64
    return template([{"role": "user", "content": "x" * (1 + room // count)}] * count)


def _schema_of(items: list[Any]) -> dict[str, Any]:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"enum": items}}}
    return {"model": "direct", "messages": [USER], "tools": [tool]}


def _blocks(blocks: list[Any]) -> dict[str, Any]:
    return {"model": "direct", "max_tokens": 5, "messages": [USER | {"content": blocks}]}


LARGE_BODIES: dict[str, LargeBody] = {
    "chat, messages": LargeBody(
        "/v1/chat/completions",
        filled(lambda m: {"model": "direct", "messages": m}, {"role": "user"}),
        400,
    ),
    "chat, messages at the bound": LargeBody(
        "/v1/chat/completions",
        padded(lambda m: {"model": "direct", "messages": m}, MAX_ITEMS - 1),
        200,
    ),
    "chat, schema objects": LargeBody("/v1/chat/completions", filled(_schema_of, {}), 200),
    "responses, input items": LargeBody(
        "/v1/responses", filled(lambda i: {"model": "direct", "input": i}, USER), 400
    ),
    "responses, items at the bound": LargeBody(
        "/v1/responses", padded(lambda i: {"model": "direct", "input": i}, MAX_ITEMS - 1), 200
    ),
    "messages, messages": LargeBody(
        "/v1/messages",
        filled(lambda m: {"model": "direct", "max_tokens": 5, "messages": m}, USER),
        400,
    ),
    "messages, at the bound": LargeBody(
        "/v1/messages",
        padded(lambda m: {"model": "direct", "max_tokens": 5, "messages": m}, MAX_ITEMS - 1),
        200,
    ),
    "messages, blocks": LargeBody(
        "/v1/messages", filled(_blocks, {"type": "text", "text": "x"}), 200
    ),
    "count_tokens": LargeBody(
        "/v1/messages/count_tokens", filled(lambda m: {"model": "direct", "messages": m}, USER), 200
    ),
    "embeddings, inputs": LargeBody(
        "/v1/embeddings", filled(lambda i: {"model": "direct", "input": i}, "x"), 400
    ),
}
"""The bodies of the smallest items hold more than a request may (`gateway.schema.MAX_ITEMS`,
the embeddings door's 2,048 inputs) and are refused; those `at the bound` hold one fewer,
padded to the body limit. `chat, schema objects` is 4 MiB of empty objects where no item
is counted (a tool's JSON schema): parsing the JSON is all the work there is. `messages,
blocks` and `count_tokens` are answered: text blocks become one string, and counting
tokens translates but sends nothing on."""
