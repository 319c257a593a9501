"""Failures before the first byte: HTTP status and OpenAI's error body, never a secret."""

from __future__ import annotations

import json
import socket

import httpx
import openai
import pytest

from gateway.config import Settings
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import OTHER_TENANT_KEY, PROVIDER_KEY, TENANT_KEY, gateway_env
from tests.support.servers import serve

MESSAGES = [{"role": "user", "content": "hi"}]
AUTH = {"authorization": f"Bearer {TENANT_KEY}"}


def assert_openai_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == code
    for secret in (PROVIDER_KEY, TENANT_KEY, OTHER_TENANT_KEY, "127.0.0.1", "Traceback"):
        assert secret not in response.text
        assert secret not in json.dumps(dict(response.headers))
    error: dict[str, object] = body["error"]
    return error


@pytest.mark.parametrize("model", ["direct", "via-litellm"])
@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("script", "status", "code"),
    [
        (fake.error(429, "Rate limit reached", {"retry-after": "7"}), 429, "rate_limit_exceeded"),
        (fake.error(500, f"boom {PROVIDER_KEY}"), 502, "upstream_error"),
        (fake.error(503, "overloaded"), 502, "upstream_error"),
        (fake.error(401, f"bad key {PROVIDER_KEY}"), 502, "upstream_error"),
        (
            fake.error(400, f"max_tokens too large for {PROVIDER_KEY}"),
            400,
            "upstream_invalid_request",
        ),
        (fake.Script(delay_headers=2.0), 504, "gateway_timeout"),
    ],
)
@pytest.mark.usefixtures("litellm_ready")
def test_upstream_failures_before_the_first_byte_map_to_statuses(
    upstream: FakeUpstream,
    gateway_url_short_timeout: str,
    model: str,
    stream: bool,
    script: fake.Script,
    status: int,
    code: str,
) -> None:
    upstream.scripts["scripted"] = script

    response = httpx.post(
        f"{gateway_url_short_timeout}/v1/chat/completions",
        headers=AUTH,
        json={"model": model, "messages": MESSAGES, "stream": stream},
    )

    assert_openai_error(response, status, code)
    if status == 429:
        assert response.headers["retry-after"] == "7"
        assert "Rate limit reached" in response.json()["error"]["message"]


@pytest.fixture(scope="module")
def gateway_url_short_timeout(upstream: FakeUpstream) -> object:
    env = gateway_env(upstream.url, GATEWAY_UPSTREAM_TIMEOUT_SECONDS="0.5")
    with serve(Settings.from_env(env)) as url:
        yield url


def test_sdk_raises_rate_limit_error_with_retry_after(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.scripts["scripted"] = fake.error(429, "slow down", {"retry-after": "3"})

    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="direct", messages=MESSAGES, stream=True)

    assert raised.value.response.headers["retry-after"] == "3"
    assert raised.value.code == "rate_limit_exceeded"


@pytest.mark.parametrize("provider", ["openai-compatible", "litellm"])
def test_unreachable_upstream_is_502(provider: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    env = gateway_env("http://unused")
    env["GATEWAY_MODELS"] = json.dumps(
        {
            "down": {
                "model": "openai/x",
                "api_base": f"http://127.0.0.1:{closed_port}/v1",
                "provider": provider,
                "api_key_env": "FAKE_PROVIDER_KEY",
            }
        }
    )

    with serve(Settings.from_env(env)) as url:
        response = httpx.post(
            f"{url}/v1/chat/completions",
            headers=AUTH,
            json={"model": "down", "messages": MESSAGES, "stream": True},
        )

    error = assert_openai_error(response, 502, "upstream_error")
    assert str(closed_port) not in str(error["message"])


@pytest.mark.parametrize(
    ("headers", "body", "status", "code", "param"),
    [
        ({}, b'{"model": "echo"', 400, "invalid_request", None),
        ({}, b"\xff\xfe{}", 400, "invalid_request", None),
        ({}, b"[]", 400, "invalid_request", None),
        ({}, b'{"model": "echo", "messages": []}', 400, "invalid_request", "messages"),
        (
            {},
            b'{"model": "echo", "messages": [{"role": "robot", "content": "x"}]}',
            400,
            "invalid_request",
            "messages[0].role",
        ),
        ({}, b'{"messages": [{"role": "user", "content": "x"}]}', 400, "invalid_request", "model"),
        (
            {},
            b'{"model": "echo", "messages": [{"role": "user", "content": "x"}], '
            b'"temperature": "hot"}',
            400,
            "invalid_request",
            "temperature",
        ),
        (
            {},
            b'{"model": "echo", "messages": [{"role": "user", "content": "x"}], "n": 2}',
            400,
            "invalid_request",
            "n",
        ),
        (
            {},
            b'{"model": "gpt-nope", "messages": [{"role": "user", "content": "x"}]}',
            404,
            "model_not_found",
            "model",
        ),
        ({"content-type": "text/plain"}, b"{}", 415, "unsupported_media_type", None),
        (
            {},
            b'{"model": "echo", "messages": [{"role": "user", "content": "x"}], "metadata": '
            + b"[" * 300
            + b"]" * 300
            + b"}",
            400,
            "invalid_request",
            None,
        ),
        ({}, b"[" * 2000 + b"]" * 2000, 400, "invalid_request", None),
        (
            {},
            b'{"model": "echo", "messages": [{"role": "user", "content": "' + b"x" * 5000 + b'"}]}',
            413,
            "request_too_large",
            None,
        ),
    ],
)
def test_bad_requests_get_4xx_naming_the_problem(
    upstream: FakeUpstream,
    small_body_gateway: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
    code: str,
    param: str | None,
) -> None:
    response = httpx.post(
        f"{small_body_gateway}/v1/chat/completions",
        headers={"content-type": "application/json", **AUTH, **headers},
        content=body,
    )

    error = assert_openai_error(response, status, code)
    assert error["param"] == param
    if param:
        assert param in str(error["message"])


@pytest.fixture(scope="module")
def small_body_gateway(upstream: FakeUpstream) -> object:
    with serve(Settings.from_env(gateway_env(upstream.url, GATEWAY_MAX_BODY_BYTES="4096"))) as url:
        yield url


def test_body_over_the_limit_is_refused_without_a_content_length(small_body_gateway: str) -> None:
    def body() -> object:
        yield b'{"model": "echo", "messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}]}'

    response = httpx.post(
        f"{small_body_gateway}/v1/chat/completions",
        headers={"content-type": "application/json", **AUTH},
        content=body(),
    )

    assert_openai_error(response, 413, "request_too_large")


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "Missing API key"),
        ("Bearer", "Missing API key"),
        ("Basic abc", "Missing API key"),
        ("Bearer sk-wrong", "Incorrect API key"),
        (f"Bearer {TENANT_KEY}x", "Incorrect API key"),
    ],
)
def test_missing_or_unknown_keys_are_401(
    gateway_url: str, authorization: str | None, message: str
) -> None:
    headers = {"authorization": authorization} if authorization is not None else {}

    response = httpx.post(
        f"{gateway_url}/v1/chat/completions",
        headers=headers,
        json={"model": "echo", "messages": MESSAGES},
    )

    assert message in str(assert_openai_error(response, 401, "invalid_api_key")["message"])


def test_no_configured_keys_refuses_everything() -> None:
    env = gateway_env("http://unused")
    del env["GATEWAY_API_KEYS"]
    with serve(Settings.from_env(env)) as url:
        for key in ("sk-local-dev", "anything"):
            response = httpx.post(
                f"{url}/v1/chat/completions",
                headers={"authorization": f"Bearer {key}"},
                json={"model": "echo", "messages": MESSAGES},
            )
            assert_openai_error(response, 401, "invalid_api_key")
        assert httpx.get(f"{url}/health").status_code == 200


def test_tenants_see_and_use_only_their_models(gateway_url: str) -> None:
    other = {"authorization": f"Bearer {OTHER_TENANT_KEY}"}

    models = httpx.get(f"{gateway_url}/v1/models", headers=other).json()
    denied = httpx.post(
        f"{gateway_url}/v1/chat/completions",
        headers=other,
        json={"model": "direct", "messages": MESSAGES},
    )
    allowed = httpx.post(
        f"{gateway_url}/v1/chat/completions",
        headers=other,
        json={"model": "echo", "messages": MESSAGES},
    )

    assert models == {
        "object": "list",
        "data": [{"id": "echo", "object": "model", "created": 0, "owned_by": "gateway"}],
    }
    assert_openai_error(denied, 404, "model_not_found")
    assert allowed.status_code == 200
    everything = httpx.get(f"{gateway_url}/v1/models", headers=AUTH).json()
    assert [m["id"] for m in everything["data"]] == ["echo", "direct", "via-litellm"]


def test_unknown_paths_and_methods_use_the_error_shape(gateway_url: str) -> None:
    assert_openai_error(httpx.get(f"{gateway_url}/v2/nothing", headers=AUTH), 404, "not_found")
    assert_openai_error(
        httpx.get(f"{gateway_url}/v1/chat/completions", headers=AUTH), 405, "method_not_allowed"
    )


def test_health_needs_no_key_and_calls_no_upstream(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    response = httpx.get(f"{gateway_url}/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert upstream.requests == []


@pytest.mark.parametrize("model", ["direct", "via-litellm"])
@pytest.mark.usefixtures("litellm_ready")
def test_a_providers_error_text_reaches_the_tenant_cleaned(
    upstream: FakeUpstream, gateway_url: str, model: str
) -> None:
    # GIVEN a provider refusal that names an internal address
    upstream.scripts["scripted"] = fake.error(
        400,
        "max_tokens is too large: 99999. See http://10.0.3.7:8080/internal/limits?key=x\n"
        "for details",
    )
    response = httpx.post(
        f"{gateway_url}/v1/chat/completions",
        headers=AUTH,
        json={"model": model, "messages": MESSAGES},
    )
    message = assert_openai_error(response, 400, "upstream_invalid_request")["message"]
    # THEN the tenant reads what it can act on, and nothing of the provider's internals
    assert isinstance(message, str)
    assert "max_tokens is too large: 99999" in message
    for internal in ("10.0.3.7", "http://", "\n", "b'", "litellm", "Exception"):
        assert internal not in message, message
