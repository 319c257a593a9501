"""Fixtures shared by every test folder: the fake upstream and a served gateway.

Keys and the gateway's test environment live in `tests/support/gateway.py`.
"""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from gateway.config import Settings
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY, gateway_env
from tests.support.servers import serve


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


@pytest.fixture(scope="session")
def litellm_ready(upstream: FakeUpstream) -> None:
    """LiteLLM imported and one stream read through it, for tests whose upstream timeout is
    shorter than that: a process's first LiteLLM request imports LiteLLM, and more of it
    on the way, which takes seconds on a loaded machine."""
    from tests.support.litellm_stream import stream_through_litellm  # imports LiteLLM

    stream_through_litellm(upstream, fake.text(["ready"]))


@pytest.fixture(scope="session")
def gateway_url(upstream: FakeUpstream) -> Iterator[str]:
    with serve(Settings.from_env(gateway_env(upstream.url))) as url:
        yield url


@pytest.fixture
def client(gateway_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway_url + "/v1", api_key=TENANT_KEY, max_retries=0)
