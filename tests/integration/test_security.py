"""Keys never leak; only allow-listed headers reach providers; CORS is closed by default."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.config import Settings
from gateway.errors import ConfigurationError
from gateway.observability import logger
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import HASH_KEY, OTHER_TENANT_KEY, PROVIDER_KEY, TENANT_KEY, gateway_env
from tests.support.servers import serve

SECRETS = (TENANT_KEY, OTHER_TENANT_KEY, PROVIDER_KEY, HASH_KEY)
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def url(upstream: FakeUpstream, litellm_ready: None) -> Iterator[str]:
    env = gateway_env(
        upstream.url,
        GATEWAY_FORWARD_HEADERS="OpenAI-Beta",
        GATEWAY_CORS_ORIGINS="https://app.example",
        GATEWAY_UPSTREAM_TIMEOUT_SECONDS="0.3",
        GATEWAY_IDLE_TIMEOUT_SECONDS="0.3",
    )
    with serve(Settings.from_env(env)) as served:
        yield served


@pytest.mark.parametrize("model", ["direct", "via-litellm"])
def test_only_allow_listed_headers_reach_the_provider(
    url: str, upstream: FakeUpstream, model: str
) -> None:
    headers = {
        "authorization": f"Bearer {TENANT_KEY}",
        "openai-beta": "assistants=v2",
        "x-internal-token": "private",
        "cookie": "session=abc",
    }
    answer = httpx.post(
        f"{url}/v1/chat/completions", json={"model": model, "messages": MESSAGES}, headers=headers
    )

    assert answer.status_code == 200, answer.text

    sent = upstream.last().headers
    assert sent["openai-beta"] == "assistants=v2"
    assert sent["authorization"] == f"Bearer {PROVIDER_KEY}"
    assert "x-internal-token" not in sent
    assert "cookie" not in sent


@pytest.mark.parametrize(
    "header",
    [
        "Authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "api-key",
        "x-amz-security-token",  # the caller's AWS session token in AWS_IAM mode
        "x-amz-date",
        "x-goog-api-key",
        "x-auth-token",
        "ocp-apim-subscription-key",
        "x-litellm-api-key",
        "x-session-id",
        "x-client-secret",
        "x-request-signature",
        "host",
    ],
)
def test_credentials_can_never_be_allow_listed(header: str) -> None:
    with pytest.raises(ConfigurationError, match=header.lower()):
        Settings.from_env({"GATEWAY_FORWARD_HEADERS": f"openai-beta, {header}"})


@pytest.mark.parametrize(
    "header", ["openai-beta", "anthropic-beta", "x-request-id", "OpenAI-Organization"]
)
def test_plain_headers_can_be_allow_listed(header: str) -> None:
    settings = Settings.from_env({"GATEWAY_FORWARD_HEADERS": header})
    assert settings.forward_headers == {header.lower()}


def test_cors_is_closed_unless_configured(gateway_url: str, url: str) -> None:
    preflight = {
        "origin": "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type",
    }

    closed = httpx.options(f"{gateway_url}/v1/chat/completions", headers=preflight)
    allowed = httpx.options(f"{url}/v1/chat/completions", headers=preflight)
    other = httpx.options(
        f"{url}/v1/chat/completions", headers={**preflight, "origin": "https://evil.example"}
    )

    assert "access-control-allow-origin" not in closed.headers
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers


ERROR_PATHS = [
    ("wrong key", {"authorization": f"Bearer {TENANT_KEY[:-2]}"}, "direct", None),
    ("forbidden model", {"authorization": f"Bearer {OTHER_TENANT_KEY}"}, "direct", None),
    ("upstream 500 echoing the key", None, "direct", fake.error(500, f"bad {PROVIDER_KEY}")),
    ("upstream 400 echoing the key", None, "direct", fake.error(400, f"bad {PROVIDER_KEY}")),
    ("upstream 429 echoing the key", None, "via-litellm", fake.error(429, f"slow {PROVIDER_KEY}")),
    ("upstream 401", None, "via-litellm", fake.error(401, f"invalid key {PROVIDER_KEY}")),
    ("upstream 400 echoing the hash key", None, "direct", fake.error(400, f"bad {HASH_KEY}")),
    (
        "error event with the key",
        None,
        "direct",
        fake.Script(
            steps=[
                fake.chunk({"content": "x"}),
                fake.sse({"error": {"message": f"oops {PROVIDER_KEY}"}}),
            ]
        ),
    ),
    (
        "error event via litellm",
        None,
        "via-litellm",
        fake.Script(
            steps=[
                fake.chunk({"content": "x"}),
                fake.sse({"error": {"message": f"oops {PROVIDER_KEY}"}}),
            ]
        ),
    ),
    ("slow upstream", None, "direct", fake.Script(delay_headers=1.0)),
    (
        "stalled stream",
        None,
        "direct",
        fake.Script(steps=[fake.chunk({"content": "x"}), fake.Pause(1.0)]),
    ),
    ("broken stream", None, "via-litellm", fake.text(["a"], ending="close")),
]


@pytest.mark.parametrize("stream", [True, False])
def test_no_error_path_leaks_a_key_in_bodies_headers_or_logs(
    url: str,
    upstream: FakeUpstream,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    stream: bool,
) -> None:
    seen = []
    for _name, headers, model, script in ERROR_PATHS:
        if script is not None:
            upstream.scripts["scripted"] = script
        response = httpx.post(
            f"{url}/v1/chat/completions",
            headers=headers or {"authorization": f"Bearer {TENANT_KEY}"},
            json={"model": model, "messages": MESSAGES, "stream": stream},
        )
        seen.append(response.text)
        seen.append(repr(response.headers))
        assert response.status_code >= 400 or b'"error"' in response.content, _name

    seen += [logger.registered_formatter.format(record) for record in caplog.records]
    seen += [r.getMessage() for r in caplog.records]
    captured = capsys.readouterr()
    seen += [captured.out, captured.err]
    everything = "\n".join(seen)
    for secret in SECRETS:
        assert secret not in everything
    assert "[redacted]" in everything  # the provider's echoed key was there, and removed
