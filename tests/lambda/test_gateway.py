"""The gateway itself through the real `bootstrap`: what a Function URL client receives."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream, Hold
from tests.support.gateway import TENANT_KEY, gateway_env

from .conftest import ROOT, TEST_PYTHON, StartRuntime, function_url_event, split_prelude
from .runtime_api_emulator import RuntimeApiEmulator


@pytest.fixture
def gateway(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime, upstream: FakeUpstream
) -> RuntimeApiEmulator:
    env = gateway_env(
        upstream.url, GATEWAY_DEADLINE_MARGIN_SECONDS="0.5", POWERTOOLS_METRICS_DISABLED="true"
    )
    env["LAMBDA_TASK_ROOT"] = str(Path(ROOT) / "functions")
    start_runtime("gateway.app.handler", python=TEST_PYTHON, env=env)
    return emulator


def chat_event(model: str, stream: bool = True, key: str = TENANT_KEY) -> dict[str, Any]:
    event = function_url_event(
        "/v1/chat/completions",
        body=json.dumps(
            {"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
        ),
    )
    event["headers"]["authorization"] = f"Bearer {key}"
    return event


def data_events(body: bytes) -> list[bytes]:
    return [part.removeprefix(b"data: ") for part in body.split(b"\n\n") if part]


def test_tokens_reach_the_client_as_the_provider_sends_them(
    gateway: RuntimeApiEmulator, upstream: FakeUpstream
) -> None:
    hold = Hold()
    script = fake.text(["one", " two", " three"])
    script.steps.insert(2, hold)  # the provider says "one", then waits for the test
    upstream.scripts["scripted"] = script

    request_id = gateway.enqueue(chat_event("direct"))
    try:
        gateway.wait_for_chunk(request_id, b'"content":"one"')  # while the provider waits
    finally:
        hold.released.set()
    result = gateway.result(request_id)

    prelude, body = split_prelude(result.body)
    assert prelude["statusCode"] == 200
    assert prelude["headers"]["content-type"] == "text/event-stream; charset=utf-8"
    assert len(prelude["headers"]["x-gateway-tenant-hash"]) == 16
    events = data_events(body)
    assert events[-1] == b"[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == (
        "one two three"
    )
    assert {c["id"] for c in chunks} == {prelude["headers"]["x-request-id"]}
    assert result.trailers == {}


def test_errors_before_the_first_byte_keep_their_status_and_body(
    gateway: RuntimeApiEmulator, upstream: FakeUpstream
) -> None:
    upstream.scripts["scripted"] = fake.error(429, "slow down", {"retry-after": "4"})

    result = gateway.invoke(chat_event("direct"))
    unknown = gateway.invoke(chat_event("direct", key="sk-nope"))

    prelude, body = split_prelude(result.body)
    assert prelude["statusCode"] == 429
    assert prelude["headers"]["retry-after"] == "4"
    assert json.loads(body)["error"]["code"] == "rate_limit_exceeded"
    prelude, body = split_prelude(unknown.body)
    assert prelude["statusCode"] == 401
    assert json.loads(body)["error"]["code"] == "invalid_api_key"


def test_a_failure_mid_stream_is_an_error_event_not_a_broken_response(
    gateway: RuntimeApiEmulator, upstream: FakeUpstream
) -> None:
    upstream.scripts["scripted"] = fake.text(["partial"], ending="close")

    result = gateway.invoke(chat_event("direct"))

    _, body = split_prelude(result.body)
    error = json.loads(data_events(body)[-1])["error"]
    assert error["code"] == "upstream_error"
    assert result.trailers == {}


def test_the_function_deadline_ends_the_stream_with_a_gateway_timeout(
    gateway: RuntimeApiEmulator, upstream: FakeUpstream
) -> None:
    upstream.scripts["scripted"] = fake.Script(steps=[fake.chunk({"content": "x"})], ending="hang")
    gateway.invoke(chat_event("echo", stream=False))  # the process is up: its init is not timed
    deadline = time.time() + 1.5  # no later than the deadline the emulator sets

    result = gateway.invoke(chat_event("direct"), timeout_ms=1500)

    _, body = split_prelude(result.body)
    error = json.loads(data_events(body)[-1])["error"]
    assert error["code"] == "gateway_timeout"
    assert result.chunks[-1].arrived_at < deadline  # the error event, before the deadline
    assert upstream.wait_gone(timeout=2).client_gone_at is not None


def test_several_invocations_in_one_process_reuse_the_upstream_connection(
    gateway: RuntimeApiEmulator, upstream: FakeUpstream
) -> None:
    upstream.scripts["scripted"] = fake.text(["ok"])

    results = [gateway.invoke(chat_event("direct", stream=n % 2 == 0)) for n in range(4)]

    for n, result in enumerate(results):
        prelude, body = split_prelude(result.body)
        assert prelude["statusCode"] == 200
        if n % 2:
            assert json.loads(body)["choices"][0]["message"]["content"] == "ok"
        else:
            assert body.endswith(b"data: [DONE]\n\n")
    # One event loop for the process: the pooled upstream connection survives invocations.
    ports = [r.client_port for r in upstream.requests]
    assert len(ports) == 4
    assert len(set(ports)) == 1, ports


def with_request(event: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    event["requestContext"]["http"]["method"] = method
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    return event


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (lambda e: e["headers"].pop("authorization"), 401, "invalid_api_key"),
        (lambda e: e["headers"].pop("content-type"), 200, None),
        (lambda e: e.update(body="{truncated", isBase64Encoded=False), 400, "invalid_request"),
        (
            lambda e: e.update(
                body=base64.b64encode(b"\xff\xfe\x00").decode(), isBase64Encoded=True
            ),
            400,
            "invalid_request",
        ),
        (
            lambda e: e.update(
                body=base64.b64encode(
                    json.dumps(
                        {"model": "echo", "messages": [{"role": "user", "content": "b64"}]}
                    ).encode()
                ).decode(),
                isBase64Encoded=True,
            ),
            200,
            None,
        ),
        (lambda e: e.pop("body"), 400, "invalid_request"),
        (lambda e: with_request(e, "PATCH", "/v1/chat/completions"), 405, "method_not_allowed"),
        (lambda e: with_request(e, "GET", "/../../etc/passwd"), 404, "not_found"),
        (lambda e: with_request(e, "DELETE", "/v1/models"), 405, "method_not_allowed"),
    ],
)
def test_unusual_function_url_events_get_clear_http_answers(
    gateway: RuntimeApiEmulator, change: Any, status: int, code: str | None
) -> None:
    event = chat_event("echo", stream=False)
    change(event)

    result = gateway.invoke(event)

    assert result.kind == "response"
    prelude, body = split_prelude(result.body)
    assert prelude["statusCode"] == status
    if code is not None:
        assert json.loads(body)["error"]["code"] == code
