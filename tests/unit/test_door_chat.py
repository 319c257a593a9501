"""The chat-completions door's translations, as tables: a chat body in, the internal
request out (or the 400 a client reads); the gateway's errors in OpenAI's shape.

The stream's framing is in `test_chat_framer.py`, the non-streamed completion in
`test_completion_builder.py`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.aggregate import CompletionBuilder
from gateway.doors.base import Reply
from gateway.doors.chat import CHAT_COMPLETIONS
from gateway.errors import (
    AuthenticationFailed,
    GatewayError,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    ModelNotFound,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    UpstreamFailed,
    UpstreamRateLimited,
    UpstreamTimeout,
)

HI = {"role": "user", "content": "hi"}


def request(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [HI], **fields}


@pytest.mark.parametrize(
    ("body", "stream", "include_usage"),
    [
        pytest.param(request(), False, False, id="not streamed"),
        pytest.param(request(stream=None), False, False, id="stream null"),
        pytest.param(request(stream=True), True, False, id="streamed, no usage asked"),
        pytest.param(
            request(stream=True, stream_options={"include_usage": True}),
            True,
            True,
            id="streamed with usage",
        ),
        pytest.param(
            request(stream=False, stream_options={"include_usage": True}),
            False,
            False,
            id="usage asked but not streamed",
        ),
        pytest.param(
            request(stream=True, stream_options={"include_usage": False}),
            True,
            False,
            id="usage declined",
        ),
    ],
)
def test_a_chat_body_is_its_own_internal_request(
    body: dict[str, Any], stream: bool, include_usage: bool
) -> None:
    parsed = CHAT_COMPLETIONS.parse(body)

    assert parsed.body is body
    assert (parsed.model, parsed.stream, parsed.include_usage) == ("m", stream, include_usage)


def test_fields_the_schema_does_not_name_pass_through_untouched() -> None:
    body = request(top_k=40, reasoning_effort="low", messages=[{**HI, "cache_control": {}}])

    assert CHAT_COMPLETIONS.parse(body).body == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi", "cache_control": {}}],
        "top_k": 40,
        "reasoning_effort": "low",
    }


def invalid(param: str | None, message: str) -> tuple[int, Any]:
    error = {"message": message, "type": "invalid_request_error", "param": param}
    return 400, {"error": {**error, "code": "invalid_request"}}


def deeply_nested(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


REFUSALS = [
    pytest.param([HI], invalid(None, "The request body must be a JSON object."), id="a list"),
    pytest.param(
        {"messages": [HI]},
        invalid("model", "Invalid value for 'model': Field required."),
        id="model",
    ),
    pytest.param(
        request(model=""),
        invalid("model", "Invalid value for 'model': String should have at least 1 character."),
        id="empty model",
    ),
    pytest.param(
        request(messages=[]),
        invalid(
            "messages",
            "Invalid value for 'messages': List should have at least 1 item after validation, "
            "not 0.",
        ),
        id="no messages",
    ),
    pytest.param(
        request(messages=[HI, {"role": "robot", "content": "x"}]),
        invalid(
            "messages[1].role",
            "Invalid value for 'messages[1].role': Input should be 'system', 'developer', "
            "'user', 'assistant', 'tool' or 'function'.",
        ),
        id="a role, named with its index",
    ),
    pytest.param(
        request(messages=[HI] * 1500 + [{"role": "robot"}]),
        invalid(
            "messages[1500].role",
            "Invalid value for 'messages[1500].role': Input should be 'system', 'developer', "
            "'user', 'assistant', 'tool' or 'function'.",
        ),
        id="a role past the first slice of messages, named with its index",
    ),
    pytest.param(
        request(messages=[HI] * 1500 + [{"role": "user", "content": 1}], temperature=3),
        invalid(
            "messages[1500].content",
            "Invalid value for 'messages[1500].content': Input should be a valid string.",
        ),
        id="a message past the first slice before a later field",
    ),
    pytest.param(
        request(model="", messages=[HI] * 1500 + [{"role": "robot"}]),
        invalid("model", "Invalid value for 'model': String should have at least 1 character."),
        id="the model before a message past the first slice",
    ),
    pytest.param(
        request(messages=[HI] * 1500, temperature=3),
        invalid(
            "temperature",
            "Invalid value for 'temperature': Input should be less than or equal to 2.",
        ),
        id="a later field, with many valid messages",
    ),
    pytest.param(
        request(messages=[HI] * 20_001),
        invalid(
            "messages",
            "Invalid value for 'messages': a request may hold at most 20000 messages, "
            "content parts, tool calls and tools together.",
        ),
        id="more messages than a request may hold",
    ),
    pytest.param(
        request(
            messages=[HI] * 10_000 + [{"role": "user", "content": [{"type": "text"}] * 9_000}],
            tools=[{"type": "function", "function": {"name": "f"}}] * 1_000,
        ),
        invalid(
            "messages",
            "Invalid value for 'messages': a request may hold at most 20000 messages, "
            "content parts, tool calls and tools together.",
        ),
        id="messages, content parts and tools counted together",
    ),
    pytest.param(
        request(messages=[{"role": "assistant", "tool_calls": [{"id": "c", "function": {}}]}]),
        invalid(
            "messages[0].tool_calls[0].function.name",
            "Invalid value for 'messages[0].tool_calls[0].function.name': Field required.",
        ),
        id="a tool call's name",
    ),
    pytest.param(
        request(max_tokens="10"),
        invalid("max_tokens", "Invalid value for 'max_tokens': Input should be a valid integer."),
        id="no coercion of strings to numbers",
    ),
    pytest.param(
        request(stream="true"),
        invalid("stream", "Invalid value for 'stream': Input should be a valid boolean."),
        id="no coercion of strings to booleans",
    ),
    pytest.param(
        request(temperature=2.5),
        invalid(
            "temperature",
            "Invalid value for 'temperature': Input should be less than or equal to 2.",
        ),
        id="temperature",
    ),
    pytest.param(
        request(n=2),
        invalid("n", "Invalid value for 'n': Input should be less than or equal to 1."),
        id="only one choice",
    ),
    pytest.param(
        request(tools=[{"type": "function", "function": {"name": "f" * 65}}]),
        invalid(
            "tools[0].function.name",
            "Invalid value for 'tools[0].function.name': String should have at most 64 characters.",
        ),
        id="a tool name too long",
    ),
    pytest.param(
        request(tools=[{"type": "web_search", "function": {"name": "f"}}]),
        invalid("tools[0].type", "Invalid value for 'tools[0].type': Input should be 'function'."),
        id="only function tools",
    ),
    pytest.param(
        request(tool_choice="any"),
        invalid(
            "tool_choice",
            "Invalid value for 'tool_choice': Input should be 'none', 'auto' or 'required'.",
        ),
        id="tool_choice",
    ),
    pytest.param(
        request(metadata=deeply_nested(300)),
        invalid(None, "The request body is nested too deeply."),
        id="nested deeper than can be sent on",
    ),
]


def refusal(body: object) -> tuple[int, Any]:
    """The status and JSON body the client reads when the door refuses `body`."""
    with pytest.raises(InvalidRequest) as caught:
        CHAT_COMPLETIONS.parse(body)
    response = CHAT_COMPLETIONS.error_response(caught.value)
    return response.status_code, json.loads(response.body)


@pytest.mark.parametrize(("body", "expected"), REFUSALS)
def test_an_invalid_chat_request_is_a_400_naming_the_field(
    body: object, expected: tuple[int, Any]
) -> None:
    assert refusal(body) == expected


@pytest.mark.parametrize(
    ("error", "status", "kind", "code"),
    [
        pytest.param(
            InvalidRequest("x"), 400, "invalid_request_error", "invalid_request", id="400"
        ),
        pytest.param(
            AuthenticationFailed("x"), 401, "invalid_request_error", "invalid_api_key", id="401"
        ),
        pytest.param(
            ModelNotFound("x"), 404, "invalid_request_error", "model_not_found", id="404 model"
        ),
        pytest.param(NotFound("x"), 404, "invalid_request_error", "not_found", id="404"),
        pytest.param(
            MethodNotAllowed("x"), 405, "invalid_request_error", "method_not_allowed", id="405"
        ),
        pytest.param(
            PayloadTooLarge("x"), 413, "invalid_request_error", "request_too_large", id="413"
        ),
        pytest.param(
            UnsupportedMediaType("x"),
            415,
            "invalid_request_error",
            "unsupported_media_type",
            id="415",
        ),
        pytest.param(
            UpstreamRateLimited("x"), 429, "rate_limit_error", "rate_limit_exceeded", id="429"
        ),
        pytest.param(InternalError("x"), 500, "server_error", "internal_error", id="500"),
        pytest.param(UpstreamFailed("x"), 502, "api_error", "upstream_error", id="502"),
        pytest.param(UpstreamTimeout("x"), 504, "api_error", "gateway_timeout", id="504"),
    ],
)
def test_every_gateway_error_in_openais_shape(
    error: GatewayError, status: int, kind: str, code: str
) -> None:
    response = CHAT_COMPLETIONS.error_response(error)

    assert response.status_code == status
    assert json.loads(response.body) == {
        "error": {"message": "x", "type": kind, "param": None, "code": code}
    }


def test_an_error_keeps_its_param_code_and_headers() -> None:
    error = UpstreamRateLimited("x", param="model", code="quota", headers={"retry-after": "3"})

    response = CHAT_COMPLETIONS.error_response(error)

    assert json.loads(response.body)["error"] == {
        "message": "x",
        "type": "rate_limit_error",
        "param": "model",
        "code": "quota",
    }
    assert response.headers["retry-after"] == "3"


def test_the_non_streamed_completion_carries_the_replys_identity() -> None:
    builder = CompletionBuilder()
    builder.add({"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]})

    reply = Reply("chatcmpl-1", 1700000000, "public")

    completion = CHAT_COMPLETIONS.render(builder, reply, CHAT_COMPLETIONS.parse(request()))

    assert completion == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "public",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi"},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": None,
    }
