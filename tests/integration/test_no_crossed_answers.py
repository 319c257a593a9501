"""A request the gateway gave up on must never answer the next one.

When a provider is slow to answer, the gateway times out and moves on; if the connection
went back to the pool, the late answer would be read as the answer to the next request
sent on it, which may be another tenant's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.config import Settings
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import chat, gateway_env
from tests.support.servers import serve


@pytest.fixture(scope="module")
def url(upstream: FakeUpstream, litellm_ready: None) -> Iterator[str]:
    env = gateway_env(upstream.url, GATEWAY_UPSTREAM_TIMEOUT_SECONDS="0.3")
    with serve(Settings.from_env(env)) as served:
        yield served


@pytest.mark.parametrize("model", ["direct", "via-litellm"])
def test_a_late_answer_never_reaches_the_next_request(
    url: str, upstream: FakeUpstream, model: str
) -> None:
    slow = fake.text(["answer", " for", " the", " first"])
    slow.delay_headers = 0.45
    upstream.scripts["scripted"] = [slow, fake.text(["second", " answer"])]

    first = chat(url, model, timeout=10)
    second = chat(url, model, timeout=10)

    assert first.status_code == 504
    assert second.status_code == 200, second.text
    assert second.json()["choices"][0]["message"]["content"] == "second answer"
    # The abandoned request's connection was not reused for the next one.
    abandoned, next_one = upstream.requests[-2], upstream.requests[-1]
    assert abandoned.client_port != next_one.client_port
