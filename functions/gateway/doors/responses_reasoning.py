"""Reasoning items that carry a provider's signed thinking from one turn to the next.

Claude's thinking comes with signatures (and sometimes as redacted, opaque data) that
the provider needs back, unchanged, on the next turn; a Responses client keeps earlier
turns as items. So a reasoning item's `encrypted_content` holds the thinking blocks it
stands for, as the compact JSON array LiteLLM's own Responses bridge writes
(`[{"type": "thinking", "thinking", "signature"}, {"type": "redacted_thinking",
"data"}]`), and a reasoning item sent back becomes the `thinking_blocks` of the assistant
message after it. It is written whether or not the client asked for
`reasoning.encrypted_content` (Codex always does), so that a follow-up by
`previous_response_id` keeps the chain too. It is not encrypted: the thinking is in the
item's text already, and the signature is what the provider checks.
"""

from __future__ import annotations

from typing import Any

import orjson


def _verifiable(block: object) -> bool:
    if not isinstance(block, dict):
        return False
    if block.get("type") == "thinking":
        return isinstance(block.get("thinking"), str) and _non_empty(block.get("signature"))
    return block.get("type") == "redacted_thinking" and _non_empty(block.get("data"))


def _non_empty(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def encrypted_content(blocks: list[dict[str, Any]]) -> str | None:
    """The item's `encrypted_content` for these blocks: the signed and redacted ones (an
    unsigned block cannot be sent back); None when there are none."""
    kept = [block for block in blocks if _verifiable(block)]
    return orjson.dumps(kept).decode() if kept else None


def thinking_blocks(encrypted: object) -> list[dict[str, Any]] | None:
    """The blocks an `encrypted_content` written by `encrypted_content` holds; None for
    anything else (another provider's opaque reasoning, a damaged value)."""
    if not isinstance(encrypted, str):
        return None
    try:
        blocks = orjson.loads(encrypted)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(blocks, list) or not blocks or not all(_verifiable(b) for b in blocks):
        return None
    fields = ("type", "thinking", "signature", "data")
    return [{name: block[name] for name in fields if name in block} for block in blocks]
