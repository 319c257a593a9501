"""A silent or endless upstream: keep-alives, then a timeout error event, never a hang."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from gateway.config import Settings
from tests.conftest import TENANT_KEY, gateway_env
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream, Pause
from tests.support.servers import serve

AUTH = {"authorization": f"Bearer {TENANT_KEY}"}


@pytest.fixture(scope="module")
def url(upstream: FakeUpstream) -> Iterator[str]:
    env = gateway_env(
        upstream.url,
        GATEWAY_KEEPALIVE_SECONDS="0.1",
        GATEWAY_IDLE_TIMEOUT_SECONDS="0.5",
        GATEWAY_MAX_STREAM_SECONDS="1.2",
    )
    with serve(Settings.from_env(env)) as served:
        yield served


def stream(url: str) -> tuple[float, bytes]:
    started = time.monotonic()
    response = httpx.post(
        f"{url}/v1/chat/completions",
        headers=AUTH,
        timeout=10,
        json={"model": "direct", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    )
    return time.monotonic() - started, response.content


def test_a_stalled_upstream_gets_keepalives_then_an_idle_timeout(
    url: str, upstream: FakeUpstream
) -> None:
    upstream.scripts["scripted"] = fake.Script(steps=[fake.chunk({"content": "x"})], ending="hang")

    elapsed, raw = stream(url)

    assert raw.count(b": keep-alive\n\n") >= 3
    error = json.loads(raw.rstrip().rsplit(b"\n\n", 1)[-1][6:])["error"]
    assert error["code"] == "gateway_timeout"
    assert "sent nothing for 0.5 seconds" in error["message"]
    assert 0.4 < elapsed < 1.5
    assert upstream.wait_gone(timeout=2).client_gone_at is not None


def test_an_endless_upstream_is_cut_at_the_maximum_duration(
    url: str, upstream: FakeUpstream
) -> None:
    steps: list[fake.Step] = []
    for _ in range(100):
        steps += [fake.chunk({"content": "more "}), Pause(0.05)]
    upstream.scripts["scripted"] = fake.Script(steps=steps)

    elapsed, raw = stream(url)

    error = json.loads(raw.rstrip().rsplit(b"\n\n", 1)[-1][6:])["error"]
    assert error["code"] == "gateway_timeout"
    assert "time limit" in error["message"]
    assert raw.count(b'"content":"more "') > 5
    assert 1.1 < elapsed < 2.0
    assert upstream.wait_gone(timeout=2).client_gone_at is not None


def test_the_non_streaming_path_has_the_same_limits(url: str, upstream: FakeUpstream) -> None:
    upstream.scripts["scripted"] = fake.Script(steps=[fake.chunk({"content": "x"})], ending="hang")

    response = httpx.post(
        f"{url}/v1/chat/completions",
        headers=AUTH,
        timeout=10,
        json={"model": "direct", "messages": [{"role": "user", "content": "hi"}]},
    )

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "gateway_timeout"
