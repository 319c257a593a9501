"""Every field of a valid Responses or Messages request, given a value of the wrong type
(a list, an object, a number, null), is a 4xx in the door's error shape, never a 5xx."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.gateway import TENANT_KEY

RESPONSES = {
    "model": "echo",
    "instructions": "Be brief.",
    "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "ok"},
    ],
    "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
    "tool_choice": {"type": "function", "name": "f"},
    "text": {"format": {"type": "json_object"}},
    "reasoning": {"effort": "low"},
    "max_output_tokens": 20,
}
MESSAGES = {
    "model": "echo",
    "max_tokens": 20,
    "system": [{"type": "text", "text": "Be brief."}],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}],
        },
    ],
    "tools": [{"name": "f", "input_schema": {"type": "object"}}],
    "tool_choice": {"type": "tool", "name": "f"},
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "metadata": {"user_id": "u"},
}
WRONG = ([1], {"a": 1}, 7, None)


def paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in `value` a field's value sits."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*path, index))


def replaced(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    target: Any = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out


@pytest.mark.parametrize(
    ("endpoint", "body", "error_shape"),
    [("/v1/responses", RESPONSES, "openai"), ("/v1/messages", MESSAGES, "anthropic")],
)
def test_a_wrongly_typed_field_is_a_4xx_in_the_doors_shape(
    gateway_url: str, endpoint: str, body: dict[str, Any], error_shape: str
) -> None:
    headers = {"authorization": f"Bearer {TENANT_KEY}"}
    with httpx.Client(base_url=gateway_url, headers=headers, timeout=10) as client:
        assert client.post(endpoint, json=body).status_code == 200
        failures = []
        for path in paths(body):
            for value in WRONG:
                response = client.post(endpoint, json=replaced(body, path, value))
                if response.status_code >= 500:
                    failures.append((path, value, response.status_code, response.text[:80]))
                elif response.status_code >= 400:
                    error = response.json()
                    ok = (
                        error.get("type") == "error"
                        if error_shape == "anthropic"
                        else "message" in error.get("error", {})
                    )
                    if not ok:
                        failures.append((path, value, response.status_code, response.text[:80]))

    assert failures == []
