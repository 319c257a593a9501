"""Before the first byte a failed upstream call is tried again: once, or on a fallback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from gateway.config import Settings
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY, gateway_env
from tests.support.servers import serve

AUTH = {"authorization": f"Bearer {TENANT_KEY}"}


@pytest.fixture(scope="module")
def url(upstream: FakeUpstream) -> Iterator[str]:
    env = gateway_env(upstream.url)
    env["GATEWAY_MODELS"] = json.dumps(
        {
            "single": {"model": "openai/single", "api_base": upstream.url},
            "primary": {"model": "openai/primary", "api_base": upstream.url, "fallback": "backup"},
            "backup": {
                "model": "openai/backup",
                "api_base": upstream.url,
                "provider": "litellm",
                "api_key_env": "FAKE_PROVIDER_KEY",
            },
        }
    )
    with serve(Settings.from_env(env)) as served:
        yield served


def ask(url: str, model: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        headers=AUTH,
        json={"model": model, "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    )


def models_called(upstream: FakeUpstream) -> list[str]:
    return [r.body["model"] for r in upstream.requests]


def test_a_transient_failure_is_retried_once(url: str, upstream: FakeUpstream) -> None:
    upstream.scripts["single"] = [fake.error(503, "busy"), fake.text(["fine"])]

    response = ask(url, "single")

    assert response.status_code == 200
    assert b'"content":"fine"' in response.content
    assert models_called(upstream) == ["single", "single"]


def test_a_second_failure_is_reported(url: str, upstream: FakeUpstream) -> None:
    upstream.scripts["single"] = fake.error(500, "down")

    response = ask(url, "single")

    assert response.status_code == 502
    assert models_called(upstream) == ["single", "single"]


@pytest.mark.parametrize(
    "script",
    [
        fake.error(429, "slow down", {"retry-after": "9"}),
        fake.error(401, "bad key"),
        fake.error(400, "bad request"),
    ],
)
def test_rate_limits_and_non_transient_errors_are_not_retried(
    url: str, upstream: FakeUpstream, script: fake.Script
) -> None:
    upstream.scripts["single"] = script

    response = ask(url, "single")

    assert response.status_code in (400, 429, 502)
    assert models_called(upstream) == ["single"]


@pytest.mark.parametrize("failure", [fake.error(500, "down"), fake.error(429, "limited")])
def test_a_fallback_route_serves_when_the_primary_fails(
    url: str, upstream: FakeUpstream, failure: fake.Script
) -> None:
    upstream.scripts["primary"] = failure
    upstream.scripts["backup"] = fake.text(["from", " backup"])

    response = ask(url, "primary")

    assert response.status_code == 200
    assert b"backup" in response.content
    assert models_called(upstream) == ["primary", "backup"]


def test_nothing_is_retried_once_the_stream_has_started(url: str, upstream: FakeUpstream) -> None:
    upstream.scripts["single"] = fake.text(["partial"], ending="close")

    response = ask(url, "single")

    assert response.status_code == 200
    assert b'"error"' in response.content
    assert models_called(upstream) == ["single"]


@pytest.mark.parametrize("stream", [True, False])
def test_sdks_do_not_retry_what_the_gateway_already_retried(
    url: str, upstream: FakeUpstream, stream: bool
) -> None:
    upstream.scripts["single"] = fake.error(500, "down")
    client = openai.OpenAI(base_url=url + "/v1", api_key=TENANT_KEY, max_retries=2)

    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(
            model="single", stream=stream, messages=[{"role": "user", "content": "hi"}]
        )

    assert raised.value.response.headers["x-should-retry"] == "false"
    assert models_called(upstream) == ["single", "single"]  # the gateway's two attempts


def test_sdks_do_not_rebill_a_generation_that_broke_off(url: str, upstream: FakeUpstream) -> None:
    upstream.scripts["single"] = fake.text(["partial", " answer"], ending="close")
    client = openai.OpenAI(base_url=url + "/v1", api_key=TENANT_KEY, max_retries=2)

    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model="single", messages=[{"role": "user", "content": "hi"}])

    assert "broke off" in raised.value.message
    assert models_called(upstream) == ["single"]


def test_rate_limits_leave_retrying_to_the_sdk_with_the_providers_delay(
    url: str, upstream: FakeUpstream
) -> None:
    upstream.scripts["single"] = [fake.error(429, "slow", {"retry-after": "0"}), fake.text(["ok"])]
    client = openai.OpenAI(base_url=url + "/v1", api_key=TENANT_KEY, max_retries=1)

    completion = client.chat.completions.create(
        model="single", messages=[{"role": "user", "content": "hi"}]
    )

    assert completion.choices[0].message.content == "ok"
    assert models_called(upstream) == ["single", "single"]
