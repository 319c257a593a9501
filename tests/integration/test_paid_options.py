"""Options that make the provider spend beyond tokens pass only where the route allows them.

`web_search_options` on the chat or Responses door to an Anthropic route made LiteLLM
add Anthropic's `web_search` server tool on its own (up to 10 searches, billed per search
to the operator); `mcp_servers` and `container` travel as body fields to the provider; a
`priority` service tier costs more. Each is refused with a 403 in the door's shape
before anything is sent, unless the route's `"allow"` option names it; a route that
allows web search sends it on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.config import Settings
from tests.support import anthropic_script
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY, gateway_env
from tests.support.servers import serve

USAGE = {"input_tokens": 3, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


@pytest.fixture(scope="module")
def url(upstream: FakeUpstream) -> Iterator[str]:
    env = gateway_env(upstream.url)
    models = json.loads(env["GATEWAY_MODELS"])
    claude = {"model": "anthropic/claude-x", "api_base": upstream.url}
    models["claude"] = {**claude, "api_key_env": "FAKE_PROVIDER_KEY"}
    models["claude-search"] = {
        **models["claude"],
        "allow": {"server_tools": ["web_search"]},
    }
    with serve(Settings.from_env({**env, "GATEWAY_MODELS": json.dumps(models)})) as served:
        yield served


def post(url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        url + path, json=body, headers={"authorization": f"Bearer {TENANT_KEY}"}, timeout=60
    )


CHAT = ("/v1/chat/completions", {"messages": [{"role": "user", "content": "news?"}]})
RESPONSES = ("/v1/responses", {"input": "news?"})


@pytest.mark.usefixtures("litellm_ready")
@pytest.mark.parametrize(("path", "body"), [CHAT, RESPONSES], ids=["chat", "responses"])
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("web_search_options", {}),
        ("mcp_servers", [{"type": "url", "url": "https://mcp.example", "name": "x"}]),
        ("container", "container_1"),
        ("service_tier", "priority"),
    ],
)
@pytest.mark.parametrize("model", ["claude", "direct"])
def test_an_option_that_spends_beyond_tokens_is_refused_unless_the_route_allows_it(
    url: str,
    upstream: FakeUpstream,
    path: str,
    body: dict[str, Any],
    field: str,
    value: object,
    model: str,
) -> None:
    response = post(url, path, {"model": model, **body, field: value})
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "not_allowed_on_route"
    assert upstream.requests == []


@pytest.mark.usefixtures("litellm_ready")
def test_a_route_that_allows_web_search_sends_it_on(url: str, upstream: FakeUpstream) -> None:
    upstream.scripts["claude-x"] = anthropic_script.text(["ok"], USAGE)
    response = post(url, CHAT[0], {"model": "claude-search", **CHAT[1], "web_search_options": {}})
    assert response.status_code == 200, response.text
    tools = upstream.last().body["tools"]
    assert [tool["type"].startswith("web_search") for tool in tools] == [True]
