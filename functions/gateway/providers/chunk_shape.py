"""The one check that a provider's chunk has the shape every consumer relies on.

Run where a provider's output becomes a chunk, on both provider paths (the echo model's
chunks are the gateway's own), so that the stream formats of every door and the collector
for `stream: false` can read chunks without checking them again.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import UpstreamFailed

WRONG_SHAPE = "The provider sent a chunk of the wrong shape."
_TEXT_FIELDS = ("role", "content", "reasoning_content", "refusal")


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


def _choice_ok(choice: object) -> bool:
    if not isinstance(choice, dict) or not isinstance(choice.get("index", 0), int):
        return False
    delta = choice.get("delta", {})
    if not isinstance(delta, dict) or not _is_text(choice.get("finish_reason")):
        return False
    if not all(_is_text(delta.get(name)) for name in _TEXT_FIELDS):
        return False
    tool_calls = delta.get("tool_calls")
    if tool_calls is not None and not (
        isinstance(tool_calls, list) and all(_tool_call_ok(t) for t in tool_calls)
    ):
        return False
    logprobs = choice.get("logprobs")
    return logprobs is None or isinstance(logprobs, dict)


def _count_ok(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _usage_ok(usage: object) -> bool:
    """Token counts are whole numbers and their breakdowns objects of whole numbers: every
    door does arithmetic on them."""
    if usage is None:
        return True
    if not isinstance(usage, dict):
        return False
    for name, value in usage.items():
        if name.endswith("_details"):
            if value is not None and not (
                isinstance(value, dict)
                and all(_count_ok(v) or isinstance(v, dict) for v in value.values())
            ):
                return False
        elif name.endswith("_tokens") and not _count_ok(value):
            return False
    return True


def checked_chunk(chunk: Any) -> dict[str, Any]:
    """`chunk` itself if it is a well-formed chunk, else `UpstreamFailed`."""
    if not isinstance(chunk, dict):
        raise UpstreamFailed(WRONG_SHAPE)
    choices = chunk.get("choices")
    usage = chunk.get("usage")
    if (
        not isinstance(choices, list)
        or not _usage_ok(usage)
        or not all(_choice_ok(choice) for choice in choices)
    ):
        raise UpstreamFailed(WRONG_SHAPE)
    return chunk
