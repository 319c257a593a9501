"""What a door leaves out of a request (no route can honour it) is logged once a request,
in one shape for every door: `fields left out`, the door, and the names."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.gateway import TENANT_KEY

CASES = {
    "responses": (
        "/v1/responses",
        {
            "model": "echo",
            "input": "hi",
            "tools": [
                {"type": "web_search"},
                {"type": "function", "name": "get_weather", "parameters": {}},
            ],
        },
        ["tool web_search"],
    ),
    "messages": (
        "/v1/messages",
        {
            "model": "echo",
            "max_tokens": 5,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}
                    ],
                }
            ],
        },
        ["cache_control"],
    ),
}


@pytest.mark.parametrize("door", list(CASES))
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_fields_left_out_are_logged_once_a_request(
    gateway_url: str, caplog: pytest.LogCaptureFixture, door: str, stream: bool
) -> None:
    path, body, left_out = CASES[door]
    caplog.clear()

    response = httpx.post(
        f"{gateway_url}{path}",
        json={**body, "stream": stream},
        headers={"x-api-key": TENANT_KEY, "authorization": f"Bearer {TENANT_KEY}"},
        timeout=10,
    )

    assert response.status_code == 200
    records: list[Any] = [r for r in caplog.records if r.getMessage() == "fields left out"]
    assert [(r.door, r.left_out) for r in records] == [(door, left_out)]
