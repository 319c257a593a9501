"""The one check that a chunk has the shape every consumer relies on.

Run where a chunk enters the gateway: on both provider paths (the echo model's chunks are
the gateway's own) and when the cache reads a stored answer, so that the stream formats
of every door and the collector for `stream: false` read chunks without checking them
again.
"""

from __future__ import annotations

from typing import TypeGuard

from gateway.core.chunks import STRING_FIELDS, USAGE_COUNTS, Chunk
from gateway.errors import UpstreamFailed

WRONG_SHAPE = "The provider sent a chunk of the wrong shape."


def _is_text(value: object) -> bool:
    return value is None or isinstance(value, str)


def _tool_call_ok(fragment: object) -> bool:
    if not isinstance(fragment, dict) or not isinstance(fragment.get("index", 0), int):
        return False
    function = fragment.get("function", {})
    return (
        isinstance(function, dict)
        and _is_text(function.get("name"))
        and _is_text(function.get("arguments"))
        and _is_text(fragment.get("id"))
    )


def _thinking_block_ok(block: object) -> bool:
    return (
        isinstance(block, dict)
        and block.get("type") in ("thinking", "redacted_thinking")
        and isinstance(block.get("index", 0), int)
        and all(isinstance(block.get(name, ""), str) for name in ("thinking", "data"))
        and _is_text(block.get("signature"))
    )


def _choice_ok(choice: object) -> bool:
    if not isinstance(choice, dict) or not isinstance(choice.get("index", 0), int):
        return False
    delta = choice.get("delta", {})
    if not isinstance(delta, dict) or not _is_text(choice.get("finish_reason")):
        return False
    if not all(_is_text(delta.get(name)) for name in STRING_FIELDS):
        return False
    tool_calls = delta.get("tool_calls")
    if tool_calls is not None and not (
        isinstance(tool_calls, list) and all(_tool_call_ok(t) for t in tool_calls)
    ):
        return False
    blocks = delta.get("thinking_blocks")
    if blocks is not None and not (
        isinstance(blocks, list) and all(_thinking_block_ok(b) for b in blocks)
    ):
        return False
    logprobs = choice.get("logprobs")
    return logprobs is None or isinstance(logprobs, dict)


def _count_ok(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _usage_ok(usage: object) -> bool:
    """The gateway's `Usage` (`core.usage` makes it from the provider's report): every door
    does arithmetic on its counts."""
    if usage is None:
        return True
    return (
        isinstance(usage, dict)
        and all(_count_ok(usage.get(name)) for name in USAGE_COUNTS)
        and ("reasoning_tokens" not in usage or _count_ok(usage["reasoning_tokens"]))
    )


def is_chunk(value: object) -> TypeGuard[Chunk]:
    """Whether `value` has the shape of `Chunk`."""
    if not isinstance(value, dict):
        return False
    choices = value.get("choices")
    return (
        isinstance(choices, list)
        and _usage_ok(value.get("usage"))
        and all(_choice_ok(choice) for choice in choices)
    )


def checked_chunk(value: object) -> Chunk:
    """`value` itself if it is a well-formed chunk, else `UpstreamFailed`."""
    if not is_chunk(value):
        raise UpstreamFailed(WRONG_SHAPE)
    return value
