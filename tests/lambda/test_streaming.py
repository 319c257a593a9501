"""Function URL events: the response is streamed as the app produces it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import StartRuntime, function_url_event, release_in_turn, split_prelude
from .runtime_api_emulator import RuntimeApiEmulator


@pytest.fixture
def streaming(emulator: RuntimeApiEmulator, start_runtime: StartRuntime) -> RuntimeApiEmulator:
    start_runtime("streaming_app.app")
    return emulator


def sse_events(body: bytes) -> list[dict[str, object]]:
    payloads = [line.removeprefix(b"data: ") for line in body.split(b"\n\n") if line]
    return [json.loads(payload) for payload in payloads if payload != b"[DONE]"]


def test_streams_prelude_delimiter_and_each_body_message_as_its_own_chunk(
    streaming: RuntimeApiEmulator,
) -> None:
    # GIVEN an app that sends 3 events 0.3 s apart (and empty body messages between them)
    # WHEN a Function URL request comes in
    result = streaming.invoke(function_url_event("/stream", "n=3&delay=0.3"))

    # THEN the response is a streamed http-integration-response
    assert result.kind == "response"
    assert result.headers["lambda-runtime-function-response-mode"] == "streaming"
    assert result.headers["transfer-encoding"] == "chunked"
    assert result.headers["trailer"] == (
        "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"
    )
    assert result.headers["content-type"] == "application/vnd.awslambda.http-integration-response"
    prelude, body = split_prelude(result.body)
    assert prelude == {
        "statusCode": 200,
        "headers": {"content-type": "text/event-stream", "x-multi": "a, b"},
        "cookies": ["session=1; Path=/", "theme=dark"],
    }
    assert [event["index"] for event in sse_events(body)] == [0, 1, 2]
    assert body.endswith(b"data: [DONE]\n\n")
    # one chunk for the prelude, then one per non-empty body message; no trailers
    assert result.chunks[0].data == result.body[: result.body.index(b"\x00" * 8) + 8]
    events = [event + b"\n\n" for event in body.split(b"\n\n")[:-1]]
    assert [chunk.data for chunk in result.chunks[1:]] == events
    assert len(result.chunks) == 5
    assert result.trailers == {}


def test_each_event_arrives_before_the_app_sends_the_next(
    streaming: RuntimeApiEmulator, tmp_path: Path
) -> None:
    request_id = streaming.enqueue(function_url_event("/stream", f"n=3&gate={tmp_path}"))
    release_in_turn(streaming, request_id, tmp_path, [b'"index": 0', b'"index": 1', b'"index": 2'])
    result = streaming.result(request_id)

    events = sse_events(split_prelude(result.body)[1])
    assert [event["index"] for event in events] == [0, 1, 2]
    arrivals = [chunk.arrived_at for chunk in result.chunks[1:3]]
    sent = [float(str(event["sent_at"])) for event in events[1:]]
    assert all(arrived < then_sent for arrived, then_sent in zip(arrivals, sent, strict=True))


def test_failure_after_the_first_byte_ends_the_stream_with_error_trailers(
    streaming: RuntimeApiEmulator,
) -> None:
    result = streaming.invoke(function_url_event("/fail-after"))

    assert result.kind == "response"
    assert result.streamed
    prelude, body = split_prelude(result.body)
    assert prelude["statusCode"] == 200
    assert body == b"data: partial\n\n"
    assert result.trailers["lambda-runtime-function-error-type"] == "ConnectionError"
    assert result.error_trailer() == {
        "errorType": "ConnectionError",
        "errorMessage": "upstream closed mid-stream",
    }
    # and the process serves the next invocation
    assert streaming.invoke(function_url_event("/echo")).kind == "response"


def test_failure_before_the_first_byte_posts_an_invocation_error(
    streaming: RuntimeApiEmulator,
) -> None:
    request_id = streaming.enqueue(function_url_event("/fail-before"))
    result = streaming.result(request_id)

    assert result.kind == "error"
    assert result.headers["lambda-runtime-function-error-type"] == "LookupError"
    error = result.json()
    assert error["errorType"] == "LookupError"
    assert error["errorMessage"] == "no route to the model"
    assert error["requestId"] == request_id
    assert "fail_before" in error["stackTrace"][-1]
    assert "streaming_runtime" not in error["stackTrace"][0]  # starts in the app
    # nothing was streamed first: no prelude before http.response.start
    assert f"POST /2018-06-01/runtime/invocation/{request_id}/response" not in streaming.journal
    assert streaming.invoke(function_url_event("/echo")).kind == "response"


@pytest.mark.parametrize(
    ("event", "error_type"),
    [
        ({"detail-type": "Scheduled Event", "source": "aws.events"}, "UnsupportedEvent"),
        (b"{not json", "Runtime.UnmarshalError"),
        (function_url_event("/no-response"), "NoResponse"),
    ],
)
def test_events_that_get_no_http_response_post_an_invocation_error(
    streaming: RuntimeApiEmulator, event: object, error_type: str
) -> None:
    result = streaming.invoke(event)

    assert result.kind == "error"
    assert result.headers["lambda-runtime-function-error-type"] == error_type
    assert result.json()["errorType"] == error_type
    assert streaming.invoke(function_url_event("/echo")).kind == "response"


def test_receive_reports_disconnect_only_after_the_response_is_complete(
    streaming: RuntimeApiEmulator,
) -> None:
    # GIVEN an app that watches receive() while it streams (as frameworks do)
    result = streaming.invoke(function_url_event("/receive"))

    # THEN receive() was still pending 0.2 s into the stream
    assert split_prelude(result.body)[1] == b"one early=False"
    # AND it returned http.disconnect once the response was complete
    echo = streaming.invoke(function_url_event("/echo"))
    document = json.loads(split_prelude(echo.body)[1])
    assert document["last_disconnect"] == {"type": "http.disconnect", "early": False}


def test_every_invocation_runs_on_the_same_event_loop(streaming: RuntimeApiEmulator) -> None:
    documents = []
    for _ in range(4):
        result = streaming.invoke(function_url_event("/echo", body='{"n": 1}'))
        documents.append(json.loads(split_prelude(result.body)[1]))

    assert len({document["loop_id"] for document in documents}) == 1
    assert len({document["pid"] for document in documents}) == 1
    assert [document["invocations"] for document in documents] == [1, 2, 3, 4]
    # the lifespan startup ran once, on that same loop, and each request sees its state
    assert documents[0]["state"] == {"started_on_loop": documents[0]["loop_id"]}


def test_scope_carries_the_event_the_lambda_context_and_the_trace_id(
    streaming: RuntimeApiEmulator,
) -> None:
    event = function_url_event("/echo", "model=echo", '{"hello": "world"}')
    request_id = streaming.enqueue(event, timeout_ms=20_000, trace_id="Root=1-abc;Sampled=1")
    document = json.loads(split_prelude(streaming.result(request_id).body)[1])

    assert document["method"] == "POST"
    assert document["path"] == "/echo"
    assert document["query_string"] == "model=echo"
    assert document["body"] == '{"hello": "world"}'
    assert document["headers"]["authorization"] == "Bearer sk-example"
    assert document["has_event"] is True
    context = document["context"]
    assert context == context | {
        "aws_request_id": request_id,
        "invoked_function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:gateway",
        "function_name": "gateway",
        "function_version": "$LATEST",
        "memory_limit_in_mb": 1024,
        "log_group_name": "/aws/lambda/gateway",
        "log_stream_name": "2024/11/26/[$LATEST]0123456789abcdef",
    }
    assert 15_000 < context["remaining_ms"] <= 20_000
    assert document["trace_id"] == "Root=1-abc;Sampled=1"

    second = streaming.invoke(function_url_event("/echo"), trace_id="Root=1-def;Sampled=0")
    assert json.loads(split_prelude(second.body)[1])["trace_id"] == "Root=1-def;Sampled=0"


def test_a_dropped_stream_reports_disconnect_to_the_app_and_the_process_goes_on(
    streaming: RuntimeApiEmulator,
) -> None:
    # GIVEN the Runtime API closes the stream after 3 chunks (the client went away)
    result = streaming.invoke(function_url_event("/until-disconnect"), drop_after=3)
    assert result.kind == "dropped"

    # THEN the app's receive() returned http.disconnect and it stopped streaming
    echo = streaming.invoke(function_url_event("/echo"))
    last = json.loads(split_prelude(echo.body)[1])["last_disconnect"]
    assert last["type"] == "http.disconnect"
    assert last["sent"] < 500
