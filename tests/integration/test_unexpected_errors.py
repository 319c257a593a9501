"""A failure the gateway did not foresee is a 500 in the door's shape that tells the
client's SDK not to retry (the provider may already have been paid), and leaks nothing."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import Settings
from tests.support.gateway import TENANT_KEY, gateway_env


@pytest.mark.parametrize(
    ("path", "body", "anthropic"),
    [
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}, False),
        ("/v1/responses", {"input": "hi"}, False),
        ("/v1/messages", {"max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}, True),
    ],
    ids=["chat", "responses", "messages"],
)
def test_an_unforeseen_failure_is_a_500_that_says_do_not_retry(
    path: str, body: dict[str, Any], anthropic: bool
) -> None:
    app = create_app(Settings.from_env(gateway_env("http://127.0.0.1:9")))

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals /srv/app.py line 12")

    app.state.service.complete = broken
    client = TestClient(app, raise_server_exceptions=False)
    response = client.post(
        path, json={"model": "echo", **body}, headers={"authorization": f"Bearer {TENANT_KEY}"}
    )
    assert response.status_code == 500
    assert response.headers["x-should-retry"] == "false"
    assert "secret internals" not in response.text
    if anthropic:
        assert response.json()["type"] == "error"
        assert response.json()["error"]["type"] == "api_error"
    else:
        assert response.json()["error"]["message"] == "The gateway failed unexpectedly."
