"""Attacks by a tenant: nothing it sends becomes provider configuration or reaches a model
outside its allow-list. Each test performs the attack against the gateway under uvicorn,
on both provider paths."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from gateway.config import Settings
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import PROVIDER_KEY, TENANT_KEY, gateway_env
from tests.support.servers import serve

MESSAGES = [{"role": "user", "content": "hi"}]
PATHS = ["direct", "via-litellm"]


@pytest.fixture(scope="module")
def attacker() -> Iterator[FakeUpstream]:
    """Where a hostile tenant would like the operator's provider key to go."""
    server = FakeUpstream().start()
    yield server
    server.stop()


def post(url: str, body: dict[str, object], key: str = TENANT_KEY) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {key}"},
        timeout=10,
    )


@pytest.mark.parametrize("model", PATHS)
@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("field", ["base_url", "api_base"])
def test_a_tenant_cannot_send_the_provider_key_elsewhere(
    gateway_url: str,
    upstream: FakeUpstream,
    attacker: FakeUpstream,
    model: str,
    stream: bool,
    field: str,
) -> None:
    attacker.requests.clear()

    response = post(
        gateway_url,
        {"model": model, "messages": MESSAGES, "stream": stream, field: attacker.url},
    )

    assert attacker.requests == []
    assert upstream.requests == []
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == field
    assert field in error["message"]


TRANSPORT_FIELDS = [
    ("api_key", "sk-attacker"),
    ("headers", {"x-injected": "1"}),
    ("extra_headers", {"x-injected": "1"}),
    ("extra_body", {"x-injected": "1"}),
    ("timeout", 0.001),
    ("mock_response", "free tokens"),
    ("callbacks", ["langfuse"]),
    ("success_callback", ["langfuse"]),
    ("custom_llm_provider", "anthropic"),
    ("litellm_logging_obj", None),
    ("num_retries", 50),
    ("aws_region_name", "us-east-1"),
]


@pytest.mark.parametrize("model", PATHS)
@pytest.mark.parametrize(("field", "value"), TRANSPORT_FIELDS)
def test_transport_shaped_fields_are_refused_with_a_400_naming_them(
    gateway_url: str, upstream: FakeUpstream, model: str, field: str, value: object
) -> None:
    client = openai.OpenAI(base_url=gateway_url + "/v1", api_key=TENANT_KEY, max_retries=0)

    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model=model, messages=MESSAGES, extra_body={field: value})

    assert raised.value.param == field
    assert field in raised.value.message
    assert upstream.requests == []


@pytest.mark.parametrize("model", PATHS)
def test_other_fields_reach_the_provider_as_body_fields_only(
    gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    response = post(
        gateway_url,
        {
            "model": model,
            "messages": MESSAGES,
            "temperature": 0.5,
            "top_k": 3,
            "vendor_option": {"depth": 2},
        },
    )

    assert response.status_code == 200
    sent = upstream.last()
    assert sent.body["temperature"] == 0.5
    assert sent.body["top_k"] == 3
    assert sent.body["vendor_option"] == {"depth": 2}
    assert sent.headers["authorization"] == f"Bearer {PROVIDER_KEY}"
    assert "x-injected" not in sent.headers


def _fallback_env(upstream_url: str, tenant_models: list[str]) -> dict[str, str]:
    route = {"api_base": upstream_url, "api_key_env": "FAKE_PROVIDER_KEY"}
    return gateway_env(
        upstream_url,
        GATEWAY_API_KEYS=json.dumps({"t": {"keys": [TENANT_KEY], "models": tenant_models}}),
        GATEWAY_MODELS=json.dumps(
            {
                "cheap": {"model": "openai/cheap-upstream", "fallback": "expensive", **route},
                "expensive": {"model": "openai/expensive-upstream", **route},
            }
        ),
    )


def test_a_fallback_never_serves_a_model_outside_the_tenants_allow_list(
    upstream: FakeUpstream,
) -> None:
    upstream.scripts["cheap-upstream"] = fake.error(429, "slow down", {"retry-after": "7"})
    with serve(Settings.from_env(_fallback_env(upstream.url, ["cheap"]))) as url:
        response = post(url, {"model": "cheap", "messages": MESSAGES})

    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert [r.body["model"] for r in upstream.requests] == ["cheap-upstream"]


def test_a_fallback_the_tenant_may_use_serves_and_says_so(
    upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    upstream.scripts["cheap-upstream"] = fake.error(429, "slow down")
    with serve(Settings.from_env(_fallback_env(upstream.url, ["cheap", "expensive"]))) as url:
        response = post(url, {"model": "cheap", "messages": MESSAGES})

    assert response.status_code == 200
    assert response.json()["model"] == "expensive"
    assert [r.body["model"] for r in upstream.requests] == ["cheap-upstream", "expensive-upstream"]
    logged = [r for r in caplog.records if getattr(r, "served_by", None)]
    assert [(r.model, r.served_by) for r in logged] == [("cheap", "expensive")]  # type: ignore[attr-defined]


def test_the_tenant_key_may_travel_in_x_api_key(gateway_url: str) -> None:
    body = {"model": "echo", "messages": MESSAGES}
    by_header = httpx.post(
        f"{gateway_url}/v1/chat/completions", json=body, headers={"x-api-key": TENANT_KEY}
    )
    # A SigV4 signature occupies Authorization in AWS_IAM mode: x-api-key is the key then.
    signed = httpx.post(
        f"{gateway_url}/v1/chat/completions",
        json=body,
        headers={"x-api-key": TENANT_KEY, "authorization": "AWS4-HMAC-SHA256 Credential=x"},
    )
    wrong = httpx.post(
        f"{gateway_url}/v1/chat/completions",
        json=body,
        headers={"x-api-key": "sk-wrong", "authorization": f"Bearer {TENANT_KEY}"},
    )

    assert by_header.status_code == 200
    assert signed.status_code == 200
    assert wrong.status_code == 401


def test_hash_headers_leave_the_gateway_only_when_keyed_by_the_operator(
    upstream: FakeUpstream, gateway_url: str
) -> None:
    env = gateway_env(upstream.url)
    del env["GATEWAY_HASH_KEY"]
    body = {"model": "echo", "messages": MESSAGES}
    with serve(Settings.from_env(env)) as unkeyed_url:
        unkeyed = post(unkeyed_url, body)
    keyed = post(gateway_url, body)

    assert unkeyed.status_code == keyed.status_code == 200
    assert "x-gateway-tenant-hash" not in unkeyed.headers
    assert "x-gateway-context-hash" not in unkeyed.headers
    assert len(keyed.headers["x-gateway-tenant-hash"]) == 16
    assert len(keyed.headers["x-gateway-context-hash"]) == 16
