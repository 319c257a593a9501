"""The one internal request every door translates its own request into."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import orjson


class ClientRequest(Protocol):
    """What the gateway needs of any door's parsed request to serve and log it: the body
    its hashes are computed from, the model asked for, and how the answer is delivered."""

    @property
    def body(self) -> dict[str, Any]: ...
    @property
    def model(self) -> str: ...
    @property
    def stream(self) -> bool: ...
    @property
    def include_usage(self) -> bool: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatRequest:
    """A validated OpenAI chat-completions body, and how the door delivers its answer.

    `body` is what the cache keys are computed from and what providers are sent (after
    `gateway.params` has split it). A door may subclass it to carry what only that door
    needs back when it renders (the Responses door's echoed fields, say).
    """

    body: dict[str, Any]
    model: str
    stream: bool
    include_usage: bool
    left_out: frozenset[str] = frozenset()
    """What the client sent that no route can honour, left out of `body` (for the log)."""
    claude_fields: bool = False
    """Whether the door carried Claude's own fields into `body` (`gateway.claude_fields`),
    which routes that do not take them are sent without."""


def canonical_json(value: Any) -> bytes:
    """Compact JSON with sorted keys: the same for the same request in any key order.
    (Request validation has refused bodies too deep to write.)"""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
