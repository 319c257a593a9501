"""A silent or endless upstream: keep-alives, then a timeout error event, never a hang."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from gateway.config import Settings
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream, Pause
from tests.support.gateway import TENANT_KEY, gateway_env
from tests.support.servers import serve

AUTH = {"authorization": f"Bearer {TENANT_KEY}"}


@pytest.fixture(scope="module")
def idle_url(upstream: FakeUpstream) -> Iterator[str]:
    """A gateway whose idle timeout (0.5 s) is the limit a test reaches: the maximum
    duration is ten times longer."""
    env = gateway_env(
        upstream.url,
        GATEWAY_KEEPALIVE_SECONDS="0.05",
        GATEWAY_IDLE_TIMEOUT_SECONDS="0.5",
        GATEWAY_MAX_STREAM_SECONDS="5",
    )
    with serve(Settings.from_env(env)) as served:
        yield served


@pytest.fixture(scope="module")
def deadline_url(upstream: FakeUpstream) -> Iterator[str]:
    """A gateway whose maximum duration (1.2 s) is the limit a test reaches: the idle
    timeout is far longer."""
    env = gateway_env(
        upstream.url,
        GATEWAY_IDLE_TIMEOUT_SECONDS="30",
        GATEWAY_MAX_STREAM_SECONDS="1.2",
    )
    with serve(Settings.from_env(env)) as served:
        yield served


def stream(url: str) -> tuple[float, bytes]:
    """Elapsed seconds and the body; the read timeout is far beyond every limit tested, so
    a stream no limit ends fails the test."""
    started = time.monotonic()
    response = httpx.post(
        f"{url}/v1/chat/completions",
        headers=AUTH,
        timeout=10,
        json={"model": "direct", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    )
    return time.monotonic() - started, response.content


def stalled() -> fake.Script:
    return fake.Script(steps=[fake.chunk({"content": "x"})], ending="hang")


def endless() -> fake.Script:
    steps: list[fake.Step] = []
    for _ in range(200):  # 10 s of output: the gateway's 1.2 s limit must end it first
        steps += [fake.chunk({"content": "more "}), Pause(0.05)]
    return fake.Script(steps=steps)


def test_a_stalled_upstream_gets_keepalives_then_an_idle_timeout(
    idle_url: str, upstream: FakeUpstream
) -> None:
    upstream.scripts["scripted"] = stalled()

    elapsed, raw = stream(idle_url)

    assert raw.count(b": keep-alive\n\n") >= 1
    error = json.loads(raw.rstrip().rsplit(b"\n\n", 1)[-1][6:])["error"]
    assert error["code"] == "gateway_timeout"
    assert "sent nothing for 0.5 seconds" in error["message"]
    assert elapsed >= 0.5  # never early; late only on a slow machine, which is no failure
    assert upstream.wait_gone(timeout=5).client_gone_at is not None


def test_an_endless_upstream_is_cut_at_the_maximum_duration(
    deadline_url: str, upstream: FakeUpstream
) -> None:
    upstream.scripts["scripted"] = endless()

    elapsed, raw = stream(deadline_url)

    error = json.loads(raw.rstrip().rsplit(b"\n\n", 1)[-1][6:])["error"]
    assert error["code"] == "gateway_timeout"
    assert "time limit" in error["message"]
    assert raw.count(b'"content":"more "') > 1
    assert elapsed >= 1.2
    assert upstream.wait_gone(timeout=5).client_gone_at is not None


@pytest.mark.parametrize(
    ("gateway", "script", "message"),
    [
        ("idle_url", stalled(), "sent nothing for 0.5 seconds"),
        ("deadline_url", endless(), "time limit"),
    ],
)
def test_the_non_streaming_path_has_the_same_limits(
    request: pytest.FixtureRequest,
    upstream: FakeUpstream,
    gateway: str,
    script: fake.Script,
    message: str,
) -> None:
    upstream.scripts["scripted"] = script

    response = httpx.post(
        f"{request.getfixturevalue(gateway)}/v1/chat/completions",
        headers=AUTH,
        timeout=10,
        json={"model": "direct", "messages": [{"role": "user", "content": "hi"}]},
    )

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "gateway_timeout"
    assert message in response.json()["error"]["message"]
    assert upstream.wait_gone(timeout=5).client_gone_at is not None
