"""Malformed provider chunks: a 502 or an error event on every path, never a 500."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY, chat

MALFORMED = [
    b'data: {"choices": "nope"}\n\n',
    b'data: {"choices": [{"index": 0, "delta": "oops"}]}\n\n',
    b'data: {"choices": [1]}\n\n',
    b'data: {"choices": [{"index": 0, "delta": {"content": 5}}]}\n\n',
    b'data: {"choices": [{"index": 0, "delta": {"tool_calls": "x"}}]}\n\n',
    b'data: {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": "0"}]}}]}\n\n',
    b'data: {"choices": [{"index": 0, "delta": {"tool_calls": [{"function": "f"}]}}]}\n\n',
    b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": 7}]}\n\n',
    b'data: {"choices": [], "usage": "lots"}\n\n',
    b'data: {"choices": [], "usage": {"prompt_tokens": "12", "completion_tokens": 1}}\n\n',
    b'data: {"choices": [], "usage": {"prompt_tokens": 1, "prompt_tokens_details": ["x"]}}\n\n',
    b"data: [1, 2]\n\n",
    b'data: "just a string"\n\n',
]
IDS = [m[6:40].decode() for m in MALFORMED]


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("event", MALFORMED, ids=IDS)
def test_direct_path_turns_every_malformed_chunk_into_an_upstream_error(
    gateway_url: str, upstream: FakeUpstream, event: bytes, stream: bool
) -> None:
    upstream.scripts["scripted"] = fake.Script(steps=[fake.chunk({"content": "a"}), event])

    response = chat(gateway_url, "direct", stream=stream)

    if stream:
        assert response.status_code == 200
        last = response.text.rstrip("\n").split("\n\n")[-1]
        error = json.loads(last.removeprefix("data: "))["error"]
    else:
        assert response.status_code == 502
        error = response.json()["error"]
    assert error == {
        "message": "The provider sent a chunk of the wrong shape.",
        "type": "api_error",
        "param": None,
        "code": "upstream_error",
    }


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("event", MALFORMED, ids=IDS)
def test_litellm_path_never_fails_with_a_500(
    gateway_url: str, upstream: FakeUpstream, event: bytes, stream: bool
) -> None:
    """LiteLLM parses the provider's chunks itself: it may refuse one (a 502 or an error
    event) or read it its own way, but the gateway never fails with an error of its own."""
    upstream.scripts["scripted"] = fake.Script(steps=[fake.chunk({"content": "a"}), event])

    response = chat(gateway_url, "via-litellm", stream=stream)

    assert response.status_code in (200, 502)
    assert "server_error" not in response.text
    assert "internal_error" not in response.text


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("/v1/responses", {"model": "direct", "input": "hi"}),
        (
            "/v1/messages",
            {"model": "direct", "max_tokens": 9, "messages": [{"role": "user", "content": "hi"}]},
        ),
    ],
    ids=["responses", "messages"],
)
@pytest.mark.parametrize("event", MALFORMED, ids=IDS)
def test_every_door_turns_a_malformed_chunk_into_an_upstream_error(
    gateway_url: str,
    upstream: FakeUpstream,
    event: bytes,
    endpoint: str,
    body: dict[str, object],
    stream: bool,
) -> None:
    upstream.scripts["scripted"] = fake.Script(
        steps=[fake.chunk({"content": "a"}), event, fake.chunk({}, "stop"), fake.usage()]
    )

    response = httpx.post(
        f"{gateway_url}{endpoint}",
        json={**body, "stream": stream},
        headers={"x-api-key": TENANT_KEY},
        timeout=10,
    )

    if stream:
        assert response.status_code == 200
        assert "The provider sent a chunk of the wrong shape." in response.text.split("\n\n")[-2]
    else:
        assert response.status_code == 502
        assert "The provider sent a chunk of the wrong shape." in response.text
