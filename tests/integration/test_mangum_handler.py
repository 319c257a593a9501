"""The buffered Lambda path: `gateway.app.handler` (Mangum) with AWS's own sample events.

This is what the managed runtime and `sam local start-api` run. The Lambda deadline reaches
the app through Mangum's `aws.context`: a stream that would outlive the function ends with
a `gateway timeout` error event instead of being cut off.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mangum import Mangum

from gateway.app import create_app
from gateway.config import Settings
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY, gateway_env

EVENTS = Path(__file__).resolve().parents[2] / "events"


@dataclass
class FakeLambdaContext:
    remaining_ms: int
    aws_request_id: str = "3f8a2c1e-0000-4000-8000-000000000001"
    function_name: str = "gateway"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:gateway"

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def rest_event(body: dict[str, Any]) -> dict[str, Any]:
    """AWS's REST API sample event (`sam local generate-event apigateway aws-proxy`)."""
    event: dict[str, Any] = json.loads((EVENTS / "apigateway-rest.json").read_text())
    event["path"] = "/v1/chat/completions"
    event["headers"] = {
        **event["headers"],
        "Authorization": f"Bearer {TENANT_KEY}",
        "Content-Type": "application/json",
    }
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    event["body"] = base64.b64encode(json.dumps(body).encode()).decode()
    event["isBase64Encoded"] = True
    return event


@pytest.fixture(scope="module")
def handler(upstream: FakeUpstream) -> Mangum:
    env = gateway_env(
        upstream.url, GATEWAY_DEADLINE_MARGIN_SECONDS="2", GATEWAY_IDLE_TIMEOUT_SECONDS="5"
    )
    return Mangum(create_app(Settings.from_env(env)), lifespan="off")


def test_rest_event_gets_the_whole_stream_buffered(handler: Mangum) -> None:
    response = handler(
        rest_event(
            {"model": "echo", "stream": True, "messages": [{"role": "user", "content": "hi there"}]}
        ),
        FakeLambdaContext(remaining_ms=30_000),
    )

    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "text/event-stream; charset=utf-8"
    body = response["body"]
    assert body.endswith("data: [DONE]\n\n")
    assert '"content":" there"' in body


def test_the_function_deadline_ends_the_stream_with_a_timeout_event(
    handler: Mangum, upstream: FakeUpstream
) -> None:
    upstream.scripts["scripted"] = fake.Script(steps=[fake.chunk({"content": "x"})], ending="hang")
    context = FakeLambdaContext(remaining_ms=3000)  # less the 2 s margin: 1 s for the stream
    started = time.monotonic()

    response = handler(
        rest_event(
            {"model": "direct", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        ),
        context,
    )

    last = response["body"].rstrip().rsplit("\n\n", 1)[-1]
    error = json.loads(last.removeprefix("data: "))["error"]
    assert error["code"] == "gateway_timeout"
    assert "time limit" in error["message"]  # the deadline, not the idle timeout
    assert time.monotonic() - started >= 1.0
    assert context.get_remaining_time_in_millis() > 0  # Lambda would not have cut it off


def test_function_url_event_works_through_mangum_too(handler: Mangum) -> None:
    event = json.loads((EVENTS / "function-url.json").read_text())
    event["headers"]["authorization"] = f"Bearer {TENANT_KEY}"

    response = handler(event, FakeLambdaContext(remaining_ms=30_000))

    assert response["statusCode"] == 200
    assert response["body"].endswith("data: [DONE]\n\n")
