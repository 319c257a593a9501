"""The bytes on the wire: SSE framing, keep-alives, in-stream errors, disconnects."""

from __future__ import annotations

import json
import socket
import time

import httpx
import openai
import pytest

from gateway.config import Settings
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream, Hold, Pause
from tests.support.gateway import TENANT_KEY, gateway_env
from tests.support.servers import serve

AUTH = {"authorization": f"Bearer {TENANT_KEY}"}
BODY = {"messages": [{"role": "user", "content": "Say hello"}], "stream": True}
KEEPALIVE = b": keep-alive\n\n"
TIMEOUT = 30
"""For reads that only a hang should exceed: a process's first LiteLLM request imports
LiteLLM, which takes seconds on a loaded machine (httpx's default is 5 s)."""


def events(raw: bytes) -> list[bytes]:
    assert raw.endswith(b"\n\n")
    return raw[:-2].split(b"\n\n")


@pytest.mark.parametrize("model", ["direct", "via-litellm", "echo"])
def test_stream_is_framed_as_data_events_ending_with_done(
    gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hello", " world"])

    response = httpx.post(
        f"{gateway_url}/v1/chat/completions",
        headers=AUTH,
        json={**BODY, "model": model},
        timeout=TIMEOUT,
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    frames = events(response.content)
    assert frames[-1] == b"data: [DONE]"
    for frame in frames[:-1]:
        assert frame.startswith(b'data: {"id":"chatcmpl-')
        assert b"\n" not in frame
        chunk = json.loads(frame[6:])
        assert list(chunk)[:4] == ["id", "object", "created", "model"]
        assert chunk["id"] == response.headers["x-request-id"]
        assert "usage" not in chunk


def test_keepalive_comments_flow_while_the_upstream_is_silent(upstream: FakeUpstream) -> None:
    hold = Hold()
    script = fake.text(["Hello"])
    script.steps.insert(1, hold)  # silent after the role chunk until the test says
    upstream.scripts["scripted"] = script
    settings = Settings.from_env(gateway_env(upstream.url, GATEWAY_KEEPALIVE_SECONDS="0.05"))

    raw = b""
    with (
        serve(settings) as url,
        httpx.stream(
            "POST",
            f"{url}/v1/chat/completions",
            headers=AUTH,
            json={**BODY, "model": "direct"},
            timeout=5,  # without keep-alives nothing arrives and the read times out
        ) as response,
    ):
        try:
            for part in response.iter_raw():
                raw += part
                if raw.count(KEEPALIVE) >= 2:
                    hold.released.set()  # they reached the client while the upstream was silent
        finally:
            hold.released.set()

    frames = events(raw)
    assert frames[0].startswith(b"data: {")  # the role chunk came before the silence
    assert raw.index(KEEPALIVE) < raw.index(b'"content":"Hello"')
    assert frames[-1] == b"data: [DONE]"
    # And the SDK reads straight through them.
    script.steps[1] = Pause(0.5)
    with serve(settings) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=TENANT_KEY, max_retries=0)
        chunks = list(
            client.chat.completions.create(
                model="direct",
                messages=BODY["messages"],
                stream=True,
            )
        )
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello"


@pytest.mark.parametrize("model", ["direct", "via-litellm"])
def test_failure_after_first_byte_is_one_error_event_the_sdk_raises(
    client: openai.OpenAI, gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hello", " world"], ending="close")

    raw = httpx.post(
        f"{gateway_url}/v1/chat/completions",
        headers=AUTH,
        json={**BODY, "model": model},
        timeout=TIMEOUT,
    ).content
    frames = events(raw)
    error = json.loads(frames[-1][6:])
    assert set(error) == {"error"}
    assert set(error["error"]) == {"message", "type", "param", "code"}
    assert error["error"]["code"] == "upstream_error"
    assert b"[DONE]" not in raw

    stream = client.chat.completions.create(
        model=model,
        messages=BODY["messages"],
        stream=True,
    )
    with pytest.raises(openai.APIError) as raised:
        for _ in stream:
            pass
    assert raised.value.message == error["error"]["message"]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (fake.Script(steps=[fake.chunk({"content": "x"}), b"data: {not json\n\n"]), "not JSON"),
        (
            fake.Script(steps=[fake.chunk({"content": "x"}), fake.sse({"choices": "nope"})]),
            "wrong shape",
        ),
        (
            fake.Script(
                steps=[
                    fake.chunk({"content": "x"}),
                    fake.sse({"error": {"message": "model overloaded"}}),
                ]
            ),
            "model overloaded",
        ),
        (fake.text(["a"], ending="eof"), "before it was complete"),
    ],
)
def test_broken_upstream_streams_end_with_an_error_event(
    gateway_url: str, upstream: FakeUpstream, script: fake.Script, expected: str
) -> None:
    upstream.scripts["scripted"] = script

    raw = httpx.post(
        f"{gateway_url}/v1/chat/completions", headers=AUTH, json={**BODY, "model": "direct"}
    ).content

    error = json.loads(events(raw)[-1][6:])["error"]
    assert expected in error["message"]
    assert error["type"] == "api_error"


def open_request(gateway_url: str, body: dict[str, object]) -> socket.socket:
    """A chat request sent on a raw socket, which the test closes when it wants to."""
    host, port = gateway_url.removeprefix("http://").split(":")
    payload = json.dumps(body).encode()
    sock = socket.create_connection((host, int(port)))
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        + f"authorization: Bearer {TENANT_KEY}\r\ncontent-length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    return sock


def assert_cancelled_before_any_timer(upstream: FakeUpstream) -> None:
    """The upstream request ends because the client left: the gateway's own timers (the
    next keep-alive write, 15 s; the idle timeout, 300 s) would take far longer."""
    record = upstream.wait_gone(timeout=5)
    assert record.client_gone_at is not None, "the upstream request was not cancelled"


@pytest.mark.parametrize("model", ["direct", "via-litellm"])
def test_client_disconnect_cancels_the_upstream_at_once(
    gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.Script(
        steps=[fake.chunk({"role": "assistant", "content": "partial"})], ending="hang"
    )
    with open_request(gateway_url, {**BODY, "model": model}) as sock:
        received = b""
        while b"partial" not in received:
            received += sock.recv(65536)

    assert_cancelled_before_any_timer(upstream)


@pytest.mark.parametrize("model", ["direct", "via-litellm"])
def test_client_disconnect_cancels_a_non_streamed_request_too(
    gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.Script(
        steps=[fake.chunk({"role": "assistant", "content": "partial"})], ending="hang"
    )
    with open_request(gateway_url, {**BODY, "stream": False, "model": model}):
        deadline = time.monotonic() + 5
        while not (upstream.requests and upstream.last().sent_events):
            assert time.monotonic() < deadline, "the upstream was never called"
            time.sleep(0.01)

    assert_cancelled_before_any_timer(upstream)
