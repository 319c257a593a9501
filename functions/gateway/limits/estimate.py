"""Upper bounds of what a request can use, for its reservation."""

from __future__ import annotations

from typing import Any

import orjson

IMAGE_TOKEN_BOUND = 6_000
"""More than any provider counts for one image or document part (OpenAI's largest
high-detail image is about 2,500 tokens, Anthropic's about 1,600) unless its bytes, which
are counted too, are larger."""


TEXT_PARTS = frozenset(
    {
        "text",
        "tool_use",
        "tool_result",
        "thinking",
        "redacted_thinking",
        "input_text",
        "output_text",
        "refusal",
    }
)
"""Content parts whose tokens are text, which their bytes bound (Anthropic's Messages has
`tool_use` to `redacted_thinking`, the Responses API the last three; a tool result's own
parts are counted apart)."""


def input_token_bound(body: dict[str, Any]) -> int:
    """An upper bound of the input tokens a provider counts for `body` (a chat body, or a
    native protocol's as the client sent it): a token stands for at least one byte of
    text, so the bytes of the request's JSON (every message, tool and the JSON around
    them, more than the few tokens per message a chat template adds) bound the text; each
    other part (an image, a file, a document) adds `IMAGE_TOKEN_BOUND`."""
    media = _media_parts(body.get("messages")) + _media_parts(body.get("input"))
    return len(orjson.dumps(body)) + media * IMAGE_TOKEN_BOUND


def _media_parts(messages: object) -> int:
    """The parts that are not text, in every message (or Responses input item) and in a
    tool result's content; malformed entries are left for the provider to refuse."""
    count = 0
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else ():
            if not isinstance(part, dict):
                continue
            if part.get("type") not in TEXT_PARTS:
                count += 1
            count += _media_parts([part])  # a tool result's content
    return count


def output_token_bound(body: dict[str, Any], route_limit: int | None) -> int | None:
    """The most the answer may hold: the request's own limit (a chat body's, or a
    Responses body's `max_output_tokens`), else the route's."""
    asked = (
        body.get("max_completion_tokens") or body.get("max_tokens") or body.get("max_output_tokens")
    )
    return asked if isinstance(asked, int) else route_limit
