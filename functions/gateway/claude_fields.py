"""Claude's own request fields in a chat body: which routes take them, and the body
without them for the routes that do not.

LiteLLM carries them from OpenAI-format messages to Claude on Anthropic's API, Bedrock
and Vertex: `cache_control` on content parts, tool definitions, tool calls and tool
messages; an assistant message's `thinking_blocks` (with their signatures); and the
`thinking`, `top_k` and top-level `cache_control` parameters. The chat door passes what
its client sent as it is. A door that translates another protocol (Messages, Responses)
carries the same fields into the chat body and marks it (`ChatRequest.claude_fields`);
on a route that does not take them, the provider gets the body without them:
`cache_control` is left out (and logged: caching is automatic there, or absent),
thinking blocks are left out silently (no other provider reads them back; every thinking
client sends them), and `thinking` becomes `reasoning_effort`.
"""

from __future__ import annotations

from typing import Any

from gateway.config import ModelRoute
from gateway.core.request import ChatRequest
from gateway.params import ProviderParams, split_params

CLAUDE_PARAMS = frozenset({"thinking", "top_k", "cache_control"})
"""Anthropic parameters LiteLLM maps for Claude: given to it as parameters, not in
`extra_body`, which its Anthropic transformation would send as a field of that name."""

_SEPARATORS = {"system": "\n\n", "assistant": ""}
"""How the text parts of a message are joined back into one string (others: a line)."""


def takes_claude_fields(route: ModelRoute) -> bool:
    """Whether the route is Claude through LiteLLM (Anthropic's API or an Anthropic-
    compatible base, Bedrock, Vertex), whose transformation maps the fields."""
    if route.provider != "litellm":
        return False
    provider, _, model = route.model.partition("/")
    return provider == "anthropic" or (provider in ("bedrock", "vertex_ai") and "claude" in model)


def litellm_parameters(
    route: ModelRoute, params: dict[str, Any], extra_body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parameters and body fields LiteLLM is given for `route`: on Claude routes,
    `CLAUDE_PARAMS` move from the body fields to the parameters (a fixed list: no other
    field becomes a keyword argument)."""
    if not takes_claude_fields(route) or not CLAUDE_PARAMS & extra_body.keys():
        return params, extra_body
    moved = {name: value for name, value in extra_body.items() if name in CLAUDE_PARAMS}
    rest = {name: value for name, value in extra_body.items() if name not in CLAUDE_PARAMS}
    return {**params, **moved}, rest


def params_for_route(
    chat: ChatRequest, params: ProviderParams, route: ModelRoute
) -> ProviderParams:
    """What `route` is sent of a door's request: `params` (the split body), or, when the
    door carried Claude's fields and the route does not take them, the body without them."""
    if not chat.claude_fields or takes_claude_fields(route):
        return params
    return split_params(without_claude_fields(chat.body)[0])


def left_out_for_route(chat: ChatRequest, route: ModelRoute) -> frozenset[str]:
    """The names of what `params_for_route` leaves out for `route`, for the log."""
    if not chat.claude_fields or takes_claude_fields(route):
        return frozenset()
    return frozenset(without_claude_fields(chat.body)[1])


def without_claude_fields(body: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The chat body without Claude's fields, and the names of those worth logging."""
    left_out: set[str] = set()
    out = dict(body)
    thinking = out.pop("thinking", None)
    if isinstance(thinking, dict):
        effort = reasoning_effort(thinking)
        if effort is not None:
            out["reasoning_effort"] = effort
        elif thinking.get("type") != "disabled":
            left_out.add(f"thinking {thinking.get('type')}")
    if out.pop("cache_control", None) is not None:
        left_out.add("cache_control")
    out["messages"] = [_message(message, left_out) for message in body["messages"]]
    if "tools" in out:
        out["tools"] = [_uncached(tool, left_out) for tool in out["tools"]]
    return out, left_out


def reasoning_effort(thinking: dict[str, Any]) -> str | None:
    """`enabled` with a budget as the nearest `reasoning_effort`; None for anything else."""
    budget = thinking.get("budget_tokens")
    if thinking.get("type") != "enabled" or not isinstance(budget, int):
        return None
    return "low" if budget < 4096 else "medium" if budget < 16384 else "high"


def _message(message: dict[str, Any], left_out: set[str]) -> dict[str, Any]:
    out = _uncached(message, left_out)
    out.pop("thinking_blocks", None)
    content = out.get("content")
    if isinstance(content, list) and any("cache_control" in part for part in content):
        # Text parts were one string before a breakpoint made them parts: so again.
        parts = [_uncached(part, left_out) for part in content]
        texts_only = all(part.get("type") == "text" for part in parts)
        separator = _SEPARATORS.get(out.get("role", ""), "\n")
        out["content"] = separator.join(p["text"] for p in parts) if texts_only else parts
    if "tool_calls" in out:
        out["tool_calls"] = [_uncached(call, left_out) for call in out["tool_calls"]]
    return out


def _uncached(item: dict[str, Any], left_out: set[str]) -> dict[str, Any]:
    if "cache_control" not in item:
        return item
    left_out.add("cache_control")
    return {name: value for name, value in item.items() if name != "cache_control"}
