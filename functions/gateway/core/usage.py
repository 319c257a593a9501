"""The gateway's `Usage` from what a provider reports, and the figures every door derives.

Providers fill one `Usage` (four counts that never overlap: input at the full price,
cache reads, cache writes, output); each door renders it in its own vocabulary, and the
request log and metrics carry it as it is.
"""

from __future__ import annotations

from typing import Any

from gateway.core.chunk_shape import WRONG_SHAPE
from gateway.core.chunks import Usage
from gateway.errors import UpstreamFailed

NO_USAGE: Usage = {
    "input_tokens": 0,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "output_tokens": 0,
}
"""What a door shows where a count is required and the provider reported none."""


def _count(fields: dict[str, Any], name: str) -> int:
    value = fields.get(name)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UpstreamFailed(WRONG_SHAPE)
    return value


def _details(fields: dict[str, Any], name: str) -> dict[str, Any]:
    value = fields.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UpstreamFailed(WRONG_SHAPE)
    return value


def usage_from_chat(reported: object) -> Usage:
    """A chat-completions `usage`: OpenAI's, and LiteLLM's for the providers it translates.

    OpenAI counts the input read from the cache (`prompt_tokens_details.cached_tokens`) and
    written to it (`prompt_tokens_details.cache_write_tokens`) inside `prompt_tokens`;
    LiteLLM does the same with Anthropic's and Bedrock's `cache_read_input_tokens` and
    `cache_creation_input_tokens`. Both are taken out of the input here. Counts that are
    not whole numbers are `UpstreamFailed`: every door does arithmetic on them.
    """
    if not isinstance(reported, dict):
        raise UpstreamFailed(WRONG_SHAPE)
    prompt_details = _details(reported, "prompt_tokens_details")
    output_details = _details(reported, "completion_tokens_details")
    read = _count(prompt_details, "cached_tokens")
    write = _count(prompt_details, "cache_write_tokens")
    usage: Usage = {
        "input_tokens": max(_count(reported, "prompt_tokens") - read - write, 0),
        "cache_read_tokens": read,
        "cache_write_tokens": write,
        "output_tokens": _count(reported, "completion_tokens"),
    }
    if output_details.get("reasoning_tokens") is not None:
        usage["reasoning_tokens"] = _count(output_details, "reasoning_tokens")
    return usage


def all_input_tokens(usage: Usage) -> int:
    """The input as OpenAI counts it (`prompt_tokens`, `input_tokens`): cache reads and
    writes included."""
    return usage["input_tokens"] + usage["cache_read_tokens"] + usage["cache_write_tokens"]


def total_tokens(usage: Usage) -> int:
    return all_input_tokens(usage) + usage["output_tokens"]
