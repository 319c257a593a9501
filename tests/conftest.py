"""Shared fixtures: the fake upstream, gateway settings, and a served gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest

from gateway.config import Settings
from tests.support.fake_upstream import FakeUpstream
from tests.support.servers import serve

TENANT_KEY = "sk-test-acme-0123456789"
OTHER_TENANT_KEY = "sk-test-globex-9876543210"
PROVIDER_KEY = "sk-provider-secret-abcdef"
HASH_KEY = "test-hash-key-5f1d0c"


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream().start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def _fresh_upstream(request: pytest.FixtureRequest) -> None:
    if "upstream" in request.fixturenames:
        fake: FakeUpstream = request.getfixturevalue("upstream")
        fake.scripts.clear()
        fake.requests.clear()


def gateway_env(upstream_url: str, **overrides: str) -> dict[str, str]:
    """The environment the tests configure the gateway with."""
    import hashlib

    other_digest = hashlib.sha256(OTHER_TENANT_KEY.encode()).hexdigest()
    env = {
        "GATEWAY_API_KEYS": json.dumps(
            {
                "acme": [TENANT_KEY],
                "globex": {"keys": [f"sha256:{other_digest}"], "models": ["echo"]},
            }
        ),
        "GATEWAY_MODELS": json.dumps(
            {
                "echo": {"model": "echo"},
                "direct": {
                    "model": "openai/scripted",
                    "api_base": upstream_url,
                    "api_key_env": "FAKE_PROVIDER_KEY",
                },
                "via-litellm": {
                    "model": "openai/scripted",
                    "api_base": upstream_url,
                    "api_key_env": "FAKE_PROVIDER_KEY",
                    "provider": "litellm",
                },
            }
        ),
        "FAKE_PROVIDER_KEY": PROVIDER_KEY,
        "GATEWAY_HASH_KEY": HASH_KEY,
        "GATEWAY_KEEPALIVE_SECONDS": "15",
    }
    env.update(overrides)
    return env


@pytest.fixture(scope="session")
def gateway_url(upstream: FakeUpstream) -> Iterator[str]:
    with serve(Settings.from_env(gateway_env(upstream.url))) as url:
        yield url


@pytest.fixture
def client(gateway_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway_url + "/v1", api_key=TENANT_KEY, max_retries=0)
