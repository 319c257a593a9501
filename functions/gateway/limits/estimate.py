"""Upper bounds of what a request can use, for its reservation."""

from __future__ import annotations

from typing import Any

import orjson

IMAGE_TOKEN_BOUND = 6_000
"""More than any provider counts for one image or document part (OpenAI's largest
high-detail image is about 2,500 tokens, Anthropic's about 1,600) unless its bytes, which
are counted too, are larger."""


def input_token_bound(body: dict[str, Any]) -> int:
    """An upper bound of the input tokens a provider counts for `body`: a token stands
    for at least one byte of text, so the bytes of the request's JSON (every message,
    tool and the JSON around them, more than the few tokens per message a chat template
    adds) bound the text; each image or file part adds `IMAGE_TOKEN_BOUND`."""
    parts = sum(
        1
        for message in body["messages"]
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if part.get("type") != "text"
    )
    return len(orjson.dumps(body)) + parts * IMAGE_TOKEN_BOUND


def output_token_bound(body: dict[str, Any], route_limit: int | None) -> int | None:
    """The most the answer may hold: the request's own limit, else the route's."""
    asked = body.get("max_completion_tokens") or body.get("max_tokens")
    return asked if isinstance(asked, int) else route_limit
