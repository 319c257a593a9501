"""API Gateway and ALB events (what `sam local start-api` sends): Mangum's buffered shape.

The events are the ones `sam local generate-event` prints (saved under `events/`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    TEST_PYTHON,
    StartRuntime,
    function_url_event,
    load_event,
    release_in_turn,
    split_prelude,
)
from .runtime_api_emulator import RuntimeApiEmulator


@pytest.fixture
def buffered(emulator: RuntimeApiEmulator, start_runtime: StartRuntime) -> RuntimeApiEmulator:
    start_runtime("streaming_app.app")
    return emulator


def invoke_buffered(emulator: RuntimeApiEmulator, event: dict[str, Any]) -> dict[str, Any]:
    result = emulator.invoke(event)
    assert result.kind == "response"
    assert not result.streamed
    assert "transfer-encoding" not in result.headers
    assert result.headers["content-type"] == "application/json"
    response: dict[str, Any] = result.json()
    return response


def test_rest_api_event_gets_the_rest_response_shape(buffered: RuntimeApiEmulator) -> None:
    event = load_event("apigateway-rest.json")
    response = invoke_buffered(buffered, event)

    assert response["statusCode"] == 201
    assert response["headers"] == {"content-type": "application/json", "set-cookie": "session=1"}
    assert response["multiValueHeaders"] == {"x-multi": ["a", "b"]}
    assert response["isBase64Encoded"] is False
    echoed = json.loads(response["body"])
    assert echoed["method"] == "POST"
    assert echoed["path"] == "/path/to/resource"
    assert echoed["query_string"] == "foo=bar"
    assert echoed["body"] == '{"test":"body"}'  # the event's body is base64
    assert echoed["headers"]["host"] == event["multiValueHeaders"]["Host"][0]


def test_http_api_event_gets_the_payload_2_response_shape(buffered: RuntimeApiEmulator) -> None:
    response = invoke_buffered(buffered, load_event("apigateway-http-api.json"))

    assert response["statusCode"] == 201
    assert response["headers"] == {"content-type": "application/json", "x-multi": "a,b"}
    assert response["cookies"] == ["session=1"]
    assert "multiValueHeaders" not in response
    echoed = json.loads(response["body"])
    assert echoed["path"] == "/path/to/resource"
    assert echoed["query_string"] == "parameter1=value1&parameter1=value2&parameter2=value"
    assert echoed["headers"]["cookie"] == "cookie1; cookie2"
    assert echoed["body"] == '{"test":"body"}'


def test_alb_event_gets_the_alb_response_shape(buffered: RuntimeApiEmulator) -> None:
    response = invoke_buffered(buffered, load_event("alb.json"))

    assert response["statusCode"] == 201
    assert response["headers"]["content-type"] == "application/json"
    assert sorted(response["headers"]) == ["X-multi", "content-type", "set-cookie", "x-multi"]
    assert json.loads(response["body"])["query_string"] == "query=1234ABCD"


def test_buffered_failure_posts_an_invocation_error(buffered: RuntimeApiEmulator) -> None:
    event = load_event("apigateway-rest.json") | {"path": "/fail-after"}
    result = buffered.invoke(event)

    # nothing has left the function yet, so it is an ordinary invocation error
    assert result.kind == "error"
    assert result.json()["errorType"] == "ConnectionError"
    assert invoke_buffered(buffered, load_event("apigateway-rest.json"))["statusCode"] == 201


def test_streamed_and_buffered_invocations_share_one_process(buffered: RuntimeApiEmulator) -> None:
    streamed = buffered.invoke(function_url_event("/echo"))
    rest = invoke_buffered(buffered, load_event("apigateway-rest.json"))

    first = json.loads(split_prelude(streamed.body)[1])
    second = json.loads(rest["body"])
    assert (first["pid"], first["loop_id"]) == (second["pid"], second["loop_id"])


def test_mangum_wrapped_app_keeps_its_settings(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime
) -> None:
    # GIVEN `handler = Mangum(app, lifespan="auto", exclude_headers=["x-secret"])`
    start_runtime("mangum_app.handler", python=TEST_PYTHON)
    event = load_event("apigateway-rest.json") | {
        "path": "/hello",
        "body": '{"q": 1}',
        "isBase64Encoded": False,
    }

    response = invoke_buffered(emulator, event)

    assert response["statusCode"] == 200
    assert response["headers"]["x-visible"] == "yes"
    assert "x-secret" not in response["headers"]
    assert json.loads(response["body"]) == {"greeting": "hello from lifespan", "got": {"q": 1}}


def test_mangum_wrapped_starlette_app_streams_through_a_function_url(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime, tmp_path: Path
) -> None:
    # Starlette's StreamingResponse stops at the first http.disconnect from receive()
    start_runtime("mangum_app.handler", python=TEST_PYTHON)

    events = [f"data: {index}\n\n".encode() for index in range(3)]

    request_id = emulator.enqueue(function_url_event("/events", f"gate={tmp_path}"))
    release_in_turn(emulator, request_id, tmp_path, events)  # streamed, not sent in one piece
    result = emulator.result(request_id)

    prelude, body = split_prelude(result.body)
    assert prelude["statusCode"] == 200
    assert prelude["headers"]["content-type"] == "text/event-stream; charset=utf-8"
    assert body == b"".join(events)
    assert [chunk.data for chunk in result.chunks[1:]] == events
