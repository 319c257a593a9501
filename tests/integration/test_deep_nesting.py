"""A body nested deeper than the gateway can write again is a 400 on every door, in the
door's own error shape, before the provider is called (so no SDK retries a paid call).

orjson reads 1,024 levels but writes 254: the chat door's translated body was checked,
but the Responses and Messages doors keep or forward parts of the body that their chat
translation leaves out (Responses `metadata`, `reasoning`, `text`, built-in tools,
`reasoning` items; Messages `tool_use.input`, a `count_tokens` tool schema), which failed
only after the upstream answered.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"a": value}
    return value


DEEP = nested(300)
USER = {"role": "user", "content": "hi"}
CASES = [
    ("/v1/chat/completions", {"messages": [USER], "metadata": DEEP}),
    ("/v1/responses", {"input": "hi", "metadata": DEEP}),
    ("/v1/responses", {"input": "hi", "reasoning": DEEP}),
    ("/v1/responses", {"input": "hi", "text": DEEP}),
    ("/v1/responses", {"input": "hi", "tools": [{"type": "web_search", "x": DEEP}]}),
    ("/v1/responses", {"input": [{"type": "reasoning", "summary": [], "x": DEEP}, USER]}),
    (
        "/v1/messages",
        {
            "max_tokens": 16,
            "messages": [
                USER,
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": DEEP}],
                },
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}],
                },
            ],
        },
    ),
    (
        "/v1/messages/count_tokens",
        {"messages": [USER], "tools": [{"name": "f", "input_schema": DEEP}]},
    ),
]
IDS = [
    "chat metadata",
    "responses metadata",
    "responses reasoning",
    "responses text",
    "responses built-in tool",
    "responses reasoning item",
    "messages tool_use input",
    "count_tokens tool schema",
]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(("path", "body"), CASES, ids=IDS)
def test_a_body_nested_too_deeply_is_a_400_before_the_provider_is_called(
    gateway_url: str, upstream: FakeUpstream, path: str, body: dict[str, Any], stream: bool
) -> None:
    if path.endswith("count_tokens") and stream:
        pytest.skip("count_tokens does not stream")
    extra = {"stream": True} if stream and not path.endswith("count_tokens") else {}
    response = httpx.post(
        gateway_url + path,
        json={"model": "direct", **body, **extra},
        headers={"authorization": f"Bearer {TENANT_KEY}", "x-api-key": TENANT_KEY},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    error = response.json()
    if path.startswith("/v1/messages"):
        assert error["type"] == "error"
        assert error["error"]["type"] == "invalid_request_error"
    else:
        assert error["error"]["type"] == "invalid_request_error"
    assert "nested too deeply" in response.text
    assert upstream.requests == []
