"""`/v1/messages` failures, in Anthropic's shape and as the `anthropic` SDK raises them.

Before the first byte: the status and `{"type": "error", "error": {type, message}}`.
After it: an `event: error` that ends the stream. While the provider is silent: `ping`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.config import Settings
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream, Pause
from tests.support.gateway import OTHER_TENANT_KEY, PROVIDER_KEY, TENANT_KEY, gateway_env
from tests.support.servers import serve

ROUTES = ["direct", "via-litellm"]
HELLO = [{"role": "user", "content": "hi"}]
AUTH = {"x-api-key": TENANT_KEY, "anthropic-version": "2023-06-01"}


@pytest.fixture(scope="module")
def url(upstream: FakeUpstream) -> Iterator[str]:
    env = gateway_env(
        upstream.url,
        GATEWAY_KEEPALIVE_SECONDS="0.1",
        GATEWAY_IDLE_TIMEOUT_SECONDS="0.6",
        GATEWAY_UPSTREAM_TIMEOUT_SECONDS="0.5",
        GATEWAY_MAX_BODY_BYTES="65536",
    )
    with serve(Settings.from_env(env)) as served:
        yield served


@pytest.fixture
def client(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key=TENANT_KEY, max_retries=0)


def anthropic_error(response: httpx.Response, status: int, kind: str) -> str:
    """The error's message, once its status, shape and type are checked (and no secret)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"type", "error"}
    assert body["type"] == "error"
    assert set(body["error"]) == {"type", "message"}
    assert body["error"]["type"] == kind
    for secret in (PROVIDER_KEY, TENANT_KEY, OTHER_TENANT_KEY, "127.0.0.1", "Traceback"):
        assert secret not in response.text
    message: str = body["error"]["message"]
    return message


def test_a_wrong_key_is_an_authentication_error(url: str) -> None:
    client = anthropic.Anthropic(base_url=url, api_key="sk-wrong", max_retries=0)

    with pytest.raises(anthropic.AuthenticationError) as raised:
        client.messages.create(model="echo", max_tokens=8, messages=HELLO)
    missing = httpx.post(f"{url}/v1/messages", json={"model": "echo"})

    assert raised.value.status_code == 401
    assert raised.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "Incorrect API key provided."},
    }
    assert "x-api-key" in anthropic_error(missing, 401, "authentication_error")


def test_an_unknown_model_is_not_found(client: anthropic.Anthropic, url: str) -> None:
    with pytest.raises(anthropic.NotFoundError) as raised:
        client.messages.create(model="claude-nope", max_tokens=8, messages=HELLO)
    counted = httpx.post(
        f"{url}/v1/messages/count_tokens", headers=AUTH, json={"model": "x", "messages": HELLO}
    )

    assert raised.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    assert "claude-nope" in raised.value.message
    anthropic_error(counted, 404, "not_found_error")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "echo", "messages": HELLO}, "max_tokens"),
        ({"model": "echo", "max_tokens": 0, "messages": HELLO}, "max_tokens"),
        ({"model": "echo", "max_tokens": 8, "messages": []}, "messages"),
        ({"model": "echo", "max_tokens": 8, "messages": [{"role": "bot"}]}, "messages[0].role"),
        ({"model": "echo", "max_tokens": 8, "messages": HELLO, "temperature": 1.5}, "temperature"),
        (
            {"model": "echo", "max_tokens": 8, "messages": HELLO, "stop_sequences": list("abcde")},
            "stop_sequences",
        ),
        (
            {
                "model": "echo",
                "max_tokens": 8,
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image", "source": {"type": "file", "id": "f"}}],
                    }
                ],
            },
            "messages[0].content[0].source.type",
        ),
        (
            {
                "model": "echo",
                "max_tokens": 8,
                "messages": [{"role": "user", "content": [{"type": "tool_result"}]}],
            },
            "messages[0].content[0].tool_use_id",
        ),
        (
            {
                "model": "echo",
                "max_tokens": 8,
                "messages": HELLO,
                "tools": [{"type": "web_search_20250305", "name": "web_search"}],
                "tool_choice": {"type": "tool", "name": "web_search"},
            },
            "web_search",  # a tool only Anthropic runs: left out, so it cannot be forced
        ),
    ],
)
def test_invalid_requests_are_400s_naming_the_field(
    url: str, body: dict[str, Any], param: str
) -> None:
    response = httpx.post(f"{url}/v1/messages", headers=AUTH, json=body)

    assert f"'{param}'" in anthropic_error(response, 400, "invalid_request_error")


def test_a_body_over_the_limit_is_request_too_large(url: str) -> None:
    big = [{"role": "user", "content": "x" * 70000}]

    response = httpx.post(
        f"{url}/v1/messages", headers=AUTH, json={"model": "echo", "max_tokens": 8, "messages": big}
    )

    anthropic_error(response, 413, "request_too_large")


@pytest.mark.parametrize("model", ROUTES)
@pytest.mark.parametrize("stream", [True, False])
def test_a_rate_limited_provider_is_a_rate_limit_error_with_retry_after(
    client: anthropic.Anthropic, upstream: FakeUpstream, model: str, stream: bool
) -> None:
    upstream.scripts["scripted"] = fake.error(429, "slow down", {"retry-after": "7"})

    with pytest.raises(anthropic.RateLimitError) as raised:
        client.messages.create(model=model, max_tokens=8, messages=HELLO, stream=stream)

    assert raised.value.response.headers["retry-after"] == "7"
    assert raised.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert "slow down" in raised.value.message


@pytest.mark.parametrize("model", ROUTES)
@pytest.mark.parametrize(
    ("script", "status", "kind", "exception"),
    [
        (fake.error(500, f"boom {PROVIDER_KEY}"), 502, "api_error", anthropic.InternalServerError),
        (fake.Script(delay_headers=2.0), 504, "timeout_error", anthropic.GatewayTimeoutError),
        (fake.error(400, "bad"), 400, "invalid_request_error", anthropic.BadRequestError),
    ],
)
def test_provider_failures_before_the_first_byte(
    client: anthropic.Anthropic,
    upstream: FakeUpstream,
    model: str,
    script: fake.Script,
    status: int,
    kind: str,
    exception: type[anthropic.APIStatusError],
) -> None:
    upstream.scripts["scripted"] = script

    with pytest.raises(exception) as raised:
        client.messages.create(model=model, max_tokens=8, messages=HELLO)

    assert raised.value.status_code == status
    assert raised.value.body["error"]["type"] == kind  # type: ignore[index]
    assert PROVIDER_KEY not in str(raised.value.body)
    wait_answered(upstream)  # a late answer must not meet the next test's request


def wait_answered(upstream: FakeUpstream, timeout: float = 3.0) -> None:
    """Until the fake upstream has answered its last request, or found its client gone."""
    deadline = time.monotonic() + timeout
    last = upstream.last()
    while time.monotonic() < deadline and not (last.finished_at or last.client_gone_at):
        time.sleep(0.02)


@pytest.mark.parametrize("model", ROUTES)
def test_a_stream_that_breaks_off_ends_with_an_error_event_after_its_text(
    client: anthropic.Anthropic, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.Script(
        steps=[
            fake.chunk({"role": "assistant", "content": "Hello"}),
            fake.chunk({"content": " wo"}),
        ],
        ending="close",
    )
    received: list[str] = []

    with (
        pytest.raises(anthropic.APIStatusError) as raised,
        client.messages.stream(model=model, max_tokens=8, messages=HELLO) as stream,
    ):
        received.extend(stream.text_stream)

    assert "".join(received) == "Hello wo"
    assert raised.value.body["type"] == "error"  # type: ignore[index]
    assert raised.value.body["error"]["type"] == "api_error"  # type: ignore[index]


def test_pings_while_the_provider_is_silent_then_a_timeout_error_event(
    client: anthropic.Anthropic, url: str, upstream: FakeUpstream
) -> None:
    upstream.scripts["scripted"] = fake.Script(
        steps=[fake.chunk({"role": "assistant", "content": "Hi"}), Pause(0.35)],
        ending="hang",
    )

    raw = httpx.post(
        f"{url}/v1/messages",
        headers=AUTH,
        json={"model": "direct", "max_tokens": 8, "stream": True, "messages": HELLO},
    ).content
    received: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as raised,
        client.messages.stream(model="direct", max_tokens=8, messages=HELLO) as stream,
    ):
        received.extend(stream.text_stream)

    assert raw.count(b'event: ping\ndata: {"type":"ping"}\n\n') >= 2
    assert b": keep-alive" not in raw
    last = raw.rstrip().rsplit(b"\n\n", 1)[-1]
    assert last.startswith(b"event: error\ndata: ")
    assert json.loads(last.split(b"data: ", 1)[1])["error"]["type"] == "timeout_error"
    assert received == ["Hi"]
    assert raised.value.body["error"]["type"] == "timeout_error"  # type: ignore[index]


def test_a_client_that_leaves_cancels_the_provider_request(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    """On the gateway with the default limits: nothing but the client's leaving can end
    this request within seconds."""
    upstream.scripts["scripted"] = fake.Script(
        steps=[fake.chunk({"role": "assistant", "content": "Hi"})], ending="hang"
    )
    body = {"model": "direct", "max_tokens": 8, "stream": True, "messages": HELLO}

    with httpx.stream("POST", f"{gateway_url}/v1/messages", headers=AUTH, json=body) as response:
        first = next(response.iter_raw())
    gone = upstream.wait_gone(timeout=2)

    assert first.startswith(b"event: message_start\n")
    assert gone.client_gone_at is not None


def test_head_on_the_root_answers_without_a_key(url: str) -> None:
    response = httpx.head(f"{url}/")

    assert response.status_code == 200
    assert response.content == b""


_KEYS = st.sampled_from(
    [
        "model",
        "max_tokens",
        "messages",
        "role",
        "content",
        "type",
        "text",
        "source",
        "data",
        "media_type",
        "url",
        "tool_use_id",
        "id",
        "name",
        "input",
        "tools",
        "input_schema",
        "tool_choice",
        "system",
        "thinking",
        "budget_tokens",
        "stream",
        "stop_sequences",
        "metadata",
        "user_id",
        "temperature",
        "top_k",
        "is_error",
        "output_config",
        "format",
    ]
)
_VALUES = st.sampled_from(
    [
        "echo",
        "user",
        "assistant",
        "system",
        "text",
        "image",
        "tool_use",
        "tool_result",
        "thinking",
        "document",
        "base64",
        "url",
        "tool",
        "any",
        "auto",
        "enabled",
        "adaptive",
    ]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 70000) | st.floats(-1, 3) | _VALUES | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=6),
    max_leaves=30,
)


@given(body=st.dictionaries(_KEYS, _JSON, max_size=8))
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_body_gets_a_clear_answer_in_anthropics_shape(url: str, body: dict[str, Any]) -> None:
    response = httpx.post(f"{url}/v1/messages", headers=AUTH, json={"model": "echo", **body})

    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["type"] == "error"
        assert response.json()["error"]["message"]
