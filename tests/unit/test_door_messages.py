"""The Messages door's translations, as tables: an Anthropic Messages request in, the
internal chat request and what was left out (or the 400 a client reads); the internal
chunk stream in, the Messages events and the message out; the gateway's errors in
Anthropic's shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.aggregate import CompletionBuilder
from gateway.claude_fields import without_claude_fields
from gateway.core.chunks import Chunk, Usage
from gateway.doors.base import Reply
from gateway.doors.messages import MESSAGES
from gateway.doors.messages_events import MessageEvents, render_message
from gateway.doors.messages_request import estimate_input_tokens, translate
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

REPLY = Reply(id="msg_abc", created=1700000000, model="public-model")

# --- request: a Messages body -> the internal chat request -------------------------------


def request(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 10, "messages": list(messages or [HI]), **fields}


def chat(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 10, "messages": list(messages or [HI]), **fields}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def text(value: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": value, **extra}


def tool_use(block_id: str, name: str, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": block_id, "name": name, "input": arguments}


def tool_result(block_id: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": block_id, "content": content, **extra}


def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


HI = user("hi")
PNG = {"type": "base64", "media_type": "image/png", "data": "iVBOR"}
PNG_PART = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}}
TOOL = {"name": "f", "input_schema": {"type": "object"}}
CHAT_TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search"}

TRANSLATIONS = [
    pytest.param(request(), chat(), set(), id="a string message"),
    pytest.param(
        request(system="Be brief."),
        chat({"role": "system", "content": "Be brief."}, HI),
        set(),
        id="system as a string",
    ),
    pytest.param(
        request(system=[text("One."), text("Two.", cache_control={"type": "ephemeral"})]),
        chat({"role": "system", "content": "One.\n\nTwo."}, HI),
        {"cache_control"},
        id="system blocks are joined, cache_control is left out",
    ),
    pytest.param(
        request(system=[text("x-anthropic-billing-header: cc=1;"), text("Rules.")]),
        chat({"role": "system", "content": "Rules."}, HI),
        {"x-anthropic-billing-header"},
        id="claude code's billing header is dropped from the system prompt",
    ),
    pytest.param(
        request(system=""),
        chat(),
        set(),
        id="an empty system prompt adds no message",
    ),
    pytest.param(
        request({"role": "system", "content": [text("Late rule.")]}, HI),
        chat({"role": "system", "content": "Late rule."}, HI),
        set(),
        id="a system message among the messages",
    ),
    pytest.param(
        request(user([text("one"), text("two")])),
        chat(user("one\ntwo")),
        set(),
        id="text blocks collapse to one string",
    ),
    pytest.param(
        request(
            user(
                [
                    text("look"),
                    {"type": "image", "source": PNG},
                    {"type": "image", "source": {"type": "url", "url": "https://x/i.png"}},
                ]
            )
        ),
        chat(
            user(
                [
                    {"type": "text", "text": "look"},
                    PNG_PART,
                    {"type": "image_url", "image_url": {"url": "https://x/i.png"}},
                ]
            )
        ),
        set(),
        id="images: base64 as a data url, or a url",
    ),
    pytest.param(
        request(
            user(
                [
                    {"type": "document", "source": {"type": "text", "data": "A plain doc."}},
                    {
                        "type": "document",
                        "title": "r.pdf",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": "JV"},
                    },
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": "JW"},
                    },
                ]
            )
        ),
        chat(
            user(
                [
                    {"type": "text", "text": "A plain doc."},
                    {
                        "type": "file",
                        "file": {
                            "filename": "r.pdf",
                            "file_data": "data:application/pdf;base64,JV",
                        },
                    },
                    {
                        "type": "file",
                        "file": {
                            "filename": "document.pdf",
                            "file_data": "data:application/pdf;base64,JW",
                        },
                    },
                ]
            )
        ),
        set(),
        id="documents: text as text, a pdf as a file",
    ),
    pytest.param(
        request(
            HI,
            assistant([text("Let me "), text("look."), tool_use("t1", "f", {"a": 1})]),
            user([tool_result("t1", "42"), text("Thanks.")]),
        ),
        chat(
            HI,
            {
                "role": "assistant",
                "content": "Let me look.",
                "tool_calls": [call("t1", "f", '{"a":1}')],
            },
            {"role": "tool", "tool_call_id": "t1", "content": "42"},
            user("Thanks."),
        ),
        set(),
        id="a tool round trip: calls on the assistant message, results as tool messages first",
    ),
    pytest.param(
        request(HI, assistant([tool_use("t1", "f", {})]), user([tool_result("t1", "ok")])),
        chat(
            HI,
            {"role": "assistant", "content": None, "tool_calls": [call("t1", "f", "{}")]},
            {"role": "tool", "tool_call_id": "t1", "content": "ok"},
        ),
        set(),
        id="tool results alone make no empty user message",
    ),
    pytest.param(
        request(
            user(
                [
                    tool_result("t1", [text("line 1"), text("line 2")], is_error=True),
                    tool_result("t2", [text("see"), {"type": "image", "source": PNG}]),
                ]
            )
        ),
        chat(
            {"role": "tool", "tool_call_id": "t1", "content": "Error: line 1\nline 2"},
            {"role": "tool", "tool_call_id": "t2", "content": "see"},
            user([PNG_PART]),
        ),
        set(),
        id="tool result blocks: texts joined, errors marked, images in a user message",
    ),
    pytest.param(
        request(user([{"type": "tool_result", "tool_use_id": "t1"}])),
        chat({"role": "tool", "tool_call_id": "t1", "content": ""}),
        set(),
        id="a tool result without content is empty",
    ),
    pytest.param(
        request(
            HI,
            assistant(
                [
                    {"type": "thinking", "thinking": "Hmm.", "signature": "s"},
                    {"type": "redacted_thinking", "data": "x"},
                ]
            ),
            user("go on"),
        ),
        chat(HI, user("go on")),
        set(),
        id="an assistant turn of thinking only is not sent, and not logged",
    ),
    pytest.param(
        request(
            HI,
            assistant(
                [{"type": "server_tool_use", "id": "s", "name": "web_search"}, text("Found.")]
            ),
            user([{"type": "web_search_tool_result", "tool_use_id": "s"}, text("ok")]),
        ),
        chat(HI, assistant("Found."), user("ok")),
        {"server_tool_use blocks", "web_search_tool_result blocks"},
        id="anthropic's server tool blocks are left out",
    ),
    pytest.param(
        request(
            stream=True,
            stop_sequences=["END"],
            temperature=0.5,
            top_p=1,
            top_k=40,
            metadata={"user_id": "u1", "trace": "t"},
        ),
        chat(stream=True, stop=["END"], temperature=0.5, top_p=1, top_k=40, user="u1"),
        {"metadata.trace"},
        id="sampling, stop sequences, stream and the user id",
    ),
    pytest.param(
        request(system=None, stream=None, temperature=None, metadata=None, tools=None),
        chat(),
        set(),
        id="nulls are absent",
    ),
    pytest.param(
        request(tools=[{**TOOL, "description": "d", "strict": True, "cache_control": {}}]),
        chat(
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "f",
                        "parameters": {"type": "object"},
                        "description": "d",
                        "strict": True,
                    },
                }
            ]
        ),
        {"cache_control"},
        id="a client tool is a function",
    ),
    pytest.param(
        request(tools=[TOOL, WEB_SEARCH], tool_choice={"type": "auto"}),
        chat(tools=[CHAT_TOOL], tool_choice="auto"),
        {"tool web_search"},
        id="anthropic's own tools are left out",
    ),
    pytest.param(
        request(tools=[TOOL], tool_choice={"type": "any", "disable_parallel_tool_use": True}),
        chat(tools=[CHAT_TOOL], tool_choice="required", parallel_tool_calls=False),
        set(),
        id="tool_choice any is required; parallel use disabled",
    ),
    pytest.param(
        request(tools=[TOOL], tool_choice={"type": "tool", "name": "f"}),
        chat(tools=[CHAT_TOOL], tool_choice={"type": "function", "function": {"name": "f"}}),
        set(),
        id="tool_choice tool forces a function",
    ),
    pytest.param(
        request(tools=[TOOL], tool_choice={"type": "none"}),
        chat(tools=[CHAT_TOOL], tool_choice="none"),
        set(),
        id="tool_choice none",
    ),
    pytest.param(
        request(tools=[WEB_SEARCH], tool_choice={"type": "any"}),
        chat(),
        {"tool web_search"},
        id="a tool_choice without client tools is dropped",
    ),
    pytest.param(
        request(thinking={"type": "enabled", "budget_tokens": 1024}),
        chat(reasoning_effort="low"),
        set(),
        id="a thinking budget under 4096 is low effort",
    ),
    pytest.param(
        request(thinking={"type": "enabled", "budget_tokens": 4096}),
        chat(reasoning_effort="medium"),
        set(),
        id="a thinking budget from 4096 is medium effort",
    ),
    pytest.param(
        request(thinking={"type": "enabled", "budget_tokens": 16384}),
        chat(reasoning_effort="high"),
        set(),
        id="a thinking budget from 16384 is high effort",
    ),
    pytest.param(request(thinking={"type": "disabled"}), chat(), set(), id="thinking disabled"),
    pytest.param(
        request(thinking={"type": "adaptive"}),
        chat(),
        {"thinking adaptive"},
        id="adaptive thinking is left out",
    ),
    pytest.param(
        request(output_config={"format": {"type": "json_schema", "schema": {}}, "effort": "low"}),
        chat(
            response_format={"type": "json_schema", "json_schema": {"name": "output", "schema": {}}}
        ),
        {"output_config.effort"},
        id="output_config.format is a json schema response format",
    ),
    pytest.param(
        request(context_management={"edits": []}, service_tier="auto"),
        chat(),
        {"context_management", "service_tier"},
        id="unknown top-level fields are left out",
    ),
]


@pytest.mark.parametrize(("body", "expected", "left_out"), TRANSLATIONS)
def test_a_messages_request_becomes_a_chat_request_for_a_route_that_is_not_claude(
    body: dict[str, Any], expected: dict[str, Any], left_out: set[str]
) -> None:
    carried, door_left_out = translate(body)
    sent, route_left_out = without_claude_fields(carried)

    assert (sent, door_left_out | route_left_out) == (expected, left_out)


CACHED = {"type": "ephemeral"}
SIGNED = {"type": "thinking", "thinking": "Hmm.", "signature": "c2ln+/="}
REDACTED = {"type": "redacted_thinking", "data": "b3BhcXVl"}

CLAUDE_TRANSLATIONS = [
    pytest.param(
        request(system=[text("One."), text("Two.", cache_control=CACHED)]),
        chat(
            {
                "role": "system",
                "content": [text("One."), text("Two.", cache_control=CACHED)],
            },
            HI,
        ),
        id="a system breakpoint stays on its part",
    ),
    pytest.param(
        request(
            user([text("Look:"), {"type": "image", "source": PNG, "cache_control": CACHED}]),
            tools=[{**TOOL, "cache_control": CACHED}],
        ),
        {
            **chat(user([text("Look:"), {**PNG_PART, "cache_control": CACHED}])),
            "tools": [{**CHAT_TOOL, "cache_control": CACHED}],
        },
        id="breakpoints on user parts and tools stay where they were",
    ),
    pytest.param(
        request(
            HI,
            assistant([SIGNED, REDACTED, {**tool_use("t1", "f", {}), "cache_control": CACHED}]),
            user(
                [
                    tool_result("t1", "done", cache_control=CACHED),
                    tool_result("t2", [text("a"), text("b", cache_control=CACHED)]),
                ]
            ),
            thinking={"type": "enabled", "budget_tokens": 500},
            cache_control=CACHED,
        ),
        {
            **chat(
                HI,
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{**call("t1", "f", "{}"), "cache_control": CACHED}],
                    "thinking_blocks": [SIGNED, REDACTED],
                },
                {"role": "tool", "tool_call_id": "t1", "content": "done", "cache_control": CACHED},
                {
                    "role": "tool",
                    "tool_call_id": "t2",
                    "content": [text("a"), text("b", cache_control=CACHED)],
                },
            ),
            "thinking": {"type": "enabled", "budget_tokens": 500},
            "cache_control": CACHED,
        },
        id="thinking blocks, signatures, the budget and tool breakpoints as sent",
    ),
]


@pytest.mark.parametrize(("body", "expected"), CLAUDE_TRANSLATIONS)
def test_claudes_fields_are_carried_for_claude_routes(
    body: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert translate(body) == (expected, set())


@pytest.mark.parametrize(
    ("body", "stream", "include_usage"),
    [
        pytest.param(request(), False, False, id="not streamed"),
        pytest.param(request(stream=False), False, False, id="stream false"),
        pytest.param(request(stream=True), True, True, id="streamed, with usage"),
    ],
)
def test_the_door_streams_when_asked_and_then_always_with_usage(
    body: dict[str, Any], stream: bool, include_usage: bool
) -> None:
    parsed = MESSAGES.parse(body)

    assert (parsed.model, parsed.stream, parsed.include_usage) == ("m", stream, include_usage)
    assert parsed.body == translate(body)[0]


def test_count_tokens_needs_no_max_tokens() -> None:
    body = {"model": "m", "messages": [user("x" * 40)]}

    assert MESSAGES.count_tokens(body) == ("m", 4 + 10)


@pytest.mark.parametrize(
    ("messages", "tokens"),
    [
        pytest.param([user("")], 4, id="one empty message: its overhead"),
        pytest.param([user("abcd")], 5, id="four characters a token"),
        pytest.param([user("abcde")], 6, id="rounded up"),
        pytest.param(
            [user([{"type": "text", "text": "abcd"}, PNG_PART])], 4 + 1600 + 1, id="an image"
        ),
        pytest.param(
            [{"role": "assistant", "content": None, "tool_calls": [call("c", "abcd", "{}")]}],
            4 + 2,
            id="tool calls count their name and arguments",
        ),
    ],
)
def test_the_input_token_estimate(messages: list[dict[str, Any]], tokens: int) -> None:
    assert estimate_input_tokens({"messages": messages}) == tokens


def test_tools_count_in_the_estimate_as_their_json() -> None:
    tools = [CHAT_TOOL]
    json_length = len(json.dumps(tools, separators=(",", ":")))

    estimate = estimate_input_tokens({"messages": [], "tools": tools})

    assert estimate == -(-json_length // 4)


def anthropic_error(message: str) -> tuple[int, Any]:
    return 400, {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


def invalid(path: str, expected: str) -> tuple[int, Any]:
    return anthropic_error(f"Invalid value for '{path}': {expected}")


REFUSALS = [
    pytest.param([], invalid("body", "expected an object."), id="not an object"),
    pytest.param(
        {"max_tokens": 1, "messages": [HI]}, invalid("model", "expected a string."), id="no model"
    ),
    pytest.param(
        {"model": "m", "messages": [HI]},
        invalid("max_tokens", "expected an integer."),
        id="no max_tokens",
    ),
    pytest.param(
        request(max_tokens=True),
        invalid("max_tokens", "expected an integer."),
        id="max_tokens a boolean",
    ),
    pytest.param(
        {"model": "m", "max_tokens": 1, "messages": []},
        anthropic_error("'messages' must hold at least one message."),
        id="no messages",
    ),
    pytest.param(
        request(messages={"role": "user"}),
        invalid("messages", "expected an array."),
        id="messages not an array",
    ),
    pytest.param(request("hi"), invalid("messages[0]", "expected an object."), id="message"),
    pytest.param(
        request({"role": "tool", "content": "x"}),
        invalid("messages[0].role", "expected 'user' or 'assistant'."),
        id="role",
    ),
    pytest.param(
        request(user(5)), invalid("messages[0].content", "expected an array."), id="content"
    ),
    pytest.param(
        request(user(["x"])),
        invalid("messages[0].content[0]", "expected an object."),
        id="block not an object",
    ),
    pytest.param(
        request(user([{"text": "x"}])),
        invalid("messages[0].content[0].type", "expected a string."),
        id="block without type",
    ),
    pytest.param(
        request(user([{"type": "audio"}])),
        invalid("messages[0].content[0].type", "'audio' blocks are not supported here."),
        id="unknown block type",
    ),
    pytest.param(
        request(user([{"type": "text", "text": 1}])),
        invalid("messages[0].content[0].text", "expected a string."),
        id="text not a string",
    ),
    pytest.param(
        request(user([{"type": "image", "source": {"type": "file", "file_id": "f"}}])),
        invalid(
            "messages[0].content[0].source.type",
            "images are accepted as 'base64' or 'url' sources.",
        ),
        id="image by file id",
    ),
    pytest.param(
        request(user([{"type": "image", "source": {"type": "base64", "data": "x"}}])),
        invalid("messages[0].content[0].source.media_type", "expected a string."),
        id="image without media type",
    ),
    pytest.param(
        request(
            user(
                [
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "text/csv", "data": "x"},
                    }
                ]
            )
        ),
        invalid(
            "messages[0].content[0].source",
            "documents are accepted as plain text or base64 PDF sources.",
        ),
        id="document not text or pdf",
    ),
    pytest.param(
        request(assistant([tool_use("t1", "f", "{}")])),
        invalid("messages[0].content[0].input", "expected an object."),
        id="tool_use input as a string",
    ),
    pytest.param(
        request(assistant([{"type": "tool_use", "name": "f", "input": {}}])),
        invalid("messages[0].content[0].id", "expected a string."),
        id="tool_use without id",
    ),
    pytest.param(
        request(user([{"type": "tool_result", "content": "x"}])),
        invalid("messages[0].content[0].tool_use_id", "expected a string."),
        id="tool_result without tool_use_id",
    ),
    pytest.param(
        request(user([tool_result("t1", [{"type": "audio"}])])),
        invalid("messages[0].content[0].content[0].type", "'audio' blocks are not supported here."),
        id="tool_result with an unknown block",
    ),
    pytest.param(
        request(system=[{"type": "image", "source": PNG}]),
        invalid("system[0].type", "'image' blocks are not supported here."),
        id="system with an image",
    ),
    pytest.param(request(system=5), invalid("system", "expected an array."), id="system not text"),
    pytest.param(request(stream="yes"), invalid("stream", "expected a boolean."), id="stream"),
    pytest.param(
        request(stop_sequences=[1]),
        invalid("stop_sequences[0]", "expected a string."),
        id="stop sequence",
    ),
    pytest.param(
        request(temperature=1.5),
        invalid("temperature", "expected a number from 0 to 1."),
        id="temperature above Anthropic's 1",
    ),
    pytest.param(
        request(top_p="0.5"),
        invalid("top_p", "expected a number from 0 to 1."),
        id="top_p a string",
    ),
    pytest.param(request(top_k=0.5), invalid("top_k", "expected an integer."), id="top_k"),
    pytest.param(
        request(metadata={"user_id": 5}),
        invalid("metadata.user_id", "expected a string."),
        id="metadata.user_id",
    ),
    pytest.param(request(tools={"name": "f"}), invalid("tools", "expected an array."), id="tools"),
    pytest.param(
        request(tools=[{"name": "f"}]),
        invalid("tools[0].input_schema", "expected an object."),
        id="tool without input_schema",
    ),
    pytest.param(
        request(tools=[{"input_schema": {}}]),
        invalid("tools[0].name", "expected a string."),
        id="tool without name",
    ),
    pytest.param(
        request(tools=[TOOL], tool_choice={"type": "auto_please"}),
        invalid("tool_choice.type", "expected 'auto', 'any', 'tool' or 'none'."),
        id="tool_choice type",
    ),
    pytest.param(
        request(tools=[TOOL], tool_choice="auto"),
        invalid("tool_choice", "expected an object."),
        id="tool_choice as a string",
    ),
    pytest.param(
        request(tools=[TOOL, WEB_SEARCH], tool_choice={"type": "tool", "name": "web_search"}),
        anthropic_error(
            "tool_choice forces the tool 'web_search', which only Anthropic can run; the "
            "gateway serves client tools only."
        ),
        id="tool_choice forcing anthropic's tool",
    ),
    pytest.param(
        request(thinking={"type": "enabled"}),
        invalid("thinking.budget_tokens", "expected an integer."),
        id="thinking without a budget",
    ),
    pytest.param(
        request(output_config={"format": {"type": "json_schema"}}),
        invalid("output_config.format.schema", "expected an object."),
        id="output format without a schema",
    ),
    pytest.param(
        request(max_tokens=0),
        invalid("max_tokens", "Input should be greater than or equal to 1."),
        id="chat schema: max_tokens",
    ),
    pytest.param(
        request(stop_sequences=["a", "b", "c", "d", "e"]),
        invalid("stop_sequences", "Input should be a valid string."),
        id="chat schema: stop, named stop_sequences",
    ),
    pytest.param(
        request(model=""),
        invalid("model", "String should have at least 1 character."),
        id="chat schema: model",
    ),
    pytest.param(
        request(messages=[HI] * 20_001),
        invalid(
            "messages",
            "a request may hold at most 20000 messages, content parts, tool calls and tools "
            "together.",
        ),
        id="chat schema: more messages than a request may hold",
    ),
]


def refusal(body: object) -> tuple[int, Any]:
    """The status and JSON body the client reads when the door refuses `body`."""
    with pytest.raises(InvalidRequest) as caught:
        MESSAGES.parse(body)
    response = MESSAGES.error_response(caught.value)
    return response.status_code, json.loads(response.body)


@pytest.mark.parametrize(("body", "expected"), REFUSALS)
def test_an_invalid_messages_request_is_a_400_naming_the_path_in_anthropics_shape(
    body: object, expected: tuple[int, Any]
) -> None:
    assert refusal(body) == expected


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        pytest.param(InvalidRequest("x"), 400, "invalid_request_error", id="400"),
        pytest.param(AuthenticationFailed("x"), 401, "authentication_error", id="401"),
        pytest.param(ModelNotFound("x"), 404, "not_found_error", id="404 model"),
        pytest.param(NotFound("x"), 404, "not_found_error", id="404"),
        pytest.param(MethodNotAllowed("x"), 405, "invalid_request_error", id="405"),
        pytest.param(PayloadTooLarge("x"), 413, "request_too_large", id="413"),
        pytest.param(UnsupportedMediaType("x"), 415, "invalid_request_error", id="415"),
        pytest.param(UpstreamRateLimited("x"), 429, "rate_limit_error", id="429"),
        pytest.param(InternalError("x"), 500, "api_error", id="500"),
        pytest.param(UpstreamFailed("x"), 502, "api_error", id="502"),
        pytest.param(UpstreamTimeout("x"), 504, "timeout_error", id="504"),
    ],
)
def test_every_gateway_error_in_anthropics_shape_keeps_its_status(
    error: GatewayError, status: int, kind: str
) -> None:
    response = MESSAGES.error_response(error)

    assert response.status_code == status
    assert json.loads(response.body) == {"type": "error", "error": {"type": kind, "message": "x"}}


def test_a_rate_limit_keeps_its_retry_after() -> None:
    response = MESSAGES.error_response(UpstreamRateLimited("x", headers={"retry-after": "3"}))

    assert response.headers["retry-after"] == "3"


# --- events: the internal chunk stream -> Messages events --------------------------------


def delta(finish: str | None = None, **fields: Any) -> Chunk:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": finish}]}


def fragment(index: int, call_id: str | None = None, name: str = "", arguments: str = "") -> Chunk:
    function = {"name": name, "arguments": arguments}
    return delta(tool_calls=[{"index": index, "id": call_id, "function": function}])


def framed(chunks: list[Chunk], input_estimate: int = 7) -> bytes:
    """Every byte the door writes for `chunks`, ending included."""
    events = MessageEvents(REPLY, input_estimate)
    return b"".join(events.frame(chunk) or b"" for chunk in chunks) + events.ending()


def parsed(raw: bytes) -> list[dict[str, Any]]:
    """The events' data; each `event:` line must name its data's type (the SDK skips
    events without one)."""
    assert raw.endswith(b"\n\n")
    out = []
    for event in raw[:-2].split(b"\n\n"):
        head, data = event.split(b"\n")
        payload = json.loads(data.removeprefix(b"data: "))
        assert head == b"event: " + payload["type"].encode()
        out.append(payload)
    return out


def summary(event: dict[str, Any]) -> tuple[Any, ...]:
    """An event as `(type, what it says)`, short enough for a table."""
    kind = event["type"]
    if kind == "content_block_start":
        block = event["content_block"]
        return (kind, event["index"], block["type"], block.get("name", block.get("data")))
    if kind == "content_block_delta":
        inner = event["delta"]
        value = inner.get("text", inner.get("thinking", inner.get("partial_json")))
        value = inner.get("signature", value)
        return (kind, event["index"], inner["type"], value)
    if kind == "content_block_stop":
        return (kind, event["index"])
    if kind == "message_delta":
        return (kind, event["delta"]["stop_reason"], event["usage"])
    return (kind,)


START = ("message_start",)
STOP = ("message_stop",)
NO_USAGE = {"output_tokens": 0}
USAGE: Usage = {
    "input_tokens": 10,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "output_tokens": 4,
}

SIGNED_THINKING = [
    delta(
        reasoning_content="Hm", thinking_blocks=[{"type": "thinking", "index": 0, "thinking": "Hm"}]
    ),
    delta(
        reasoning_content="",
        thinking_blocks=[{"type": "thinking", "index": 0, "thinking": "", "signature": "c2ln"}],
    ),
    delta(thinking_blocks=[{"type": "redacted_thinking", "index": 1, "data": "b3Bx"}]),
    delta(
        reasoning_content="More",
        thinking_blocks=[{"type": "thinking", "index": 2, "thinking": "More"}],
    ),
    delta(content="42"),
    delta("stop"),
]
"""Thinking as LiteLLM gives Claude's: signed, redacted, then unsigned (cut short)."""

STREAMS = [
    pytest.param(
        SIGNED_THINKING,
        [
            START,
            ("content_block_start", 0, "thinking", None),
            ("content_block_delta", 0, "thinking_delta", "Hm"),
            ("content_block_delta", 0, "signature_delta", "c2ln"),
            ("content_block_stop", 0),
            ("content_block_start", 1, "redacted_thinking", "b3Bx"),
            ("content_block_stop", 1),
            ("content_block_start", 2, "thinking", None),
            ("content_block_delta", 2, "thinking_delta", "More"),
            ("content_block_stop", 2),
            ("content_block_start", 3, "text", None),
            ("content_block_delta", 3, "text_delta", "42"),
            ("content_block_stop", 3),
            ("message_delta", "end_turn", NO_USAGE),
            STOP,
        ],
        id="signed thinking: its signature ends its block; redacted thinking a block",
    ),
    pytest.param(
        [delta(role="assistant", content="Hel"), delta(content="lo"), delta("stop")],
        [
            START,
            ("content_block_start", 0, "text", None),
            ("content_block_delta", 0, "text_delta", "Hel"),
            ("content_block_delta", 0, "text_delta", "lo"),
            ("content_block_stop", 0),
            ("message_delta", "end_turn", NO_USAGE),
            STOP,
        ],
        id="text",
    ),
    pytest.param(
        [],
        [START, ("message_delta", "end_turn", NO_USAGE), STOP],
        id="no chunks: an empty message",
    ),
    pytest.param(
        [delta(reasoning_content="Hmm."), delta(content="42"), delta("stop")],
        [
            START,
            ("content_block_start", 0, "thinking", None),
            ("content_block_delta", 0, "thinking_delta", "Hmm."),
            ("content_block_stop", 0),
            ("content_block_start", 1, "text", None),
            ("content_block_delta", 1, "text_delta", "42"),
            ("content_block_stop", 1),
            ("message_delta", "end_turn", NO_USAGE),
            STOP,
        ],
        id="thinking, then text",
    ),
    pytest.param(
        [delta(refusal="I can't."), delta("stop")],
        [
            START,
            ("content_block_start", 0, "text", None),
            ("content_block_delta", 0, "text_delta", "I can't."),
            ("content_block_stop", 0),
            ("message_delta", "refusal", NO_USAGE),
            STOP,
        ],
        id="a refusal is text, and the stop reason says refusal",
    ),
    pytest.param(
        [
            delta(content="Checking."),
            fragment(0, "call_1", "get_weather", '{"city"'),
            fragment(0, arguments=':"Oslo"}'),
            fragment(1, "call_2", "get_time", "{}"),
            delta("tool_calls"),
        ],
        [
            START,
            ("content_block_start", 0, "text", None),
            ("content_block_delta", 0, "text_delta", "Checking."),
            ("content_block_stop", 0),
            ("content_block_start", 1, "tool_use", "get_weather"),
            ("content_block_delta", 1, "input_json_delta", '{"city"'),
            ("content_block_delta", 1, "input_json_delta", ':"Oslo"}'),
            ("content_block_stop", 1),
            ("content_block_start", 2, "tool_use", "get_time"),
            ("content_block_delta", 2, "input_json_delta", "{}"),
            ("content_block_stop", 2),
            ("message_delta", "tool_use", NO_USAGE),
            STOP,
        ],
        id="text, then two tool calls, each its own block",
    ),
    pytest.param(
        [fragment(0, "call_1", "f", "{}"), delta("stop")],
        [
            START,
            ("content_block_start", 0, "tool_use", "f"),
            ("content_block_delta", 0, "input_json_delta", "{}"),
            ("content_block_stop", 0),
            ("message_delta", "tool_use", NO_USAGE),
            STOP,
        ],
        id="a turn that called tools but said stop is tool_use",
    ),
    pytest.param(
        [delta(content="Once"), delta("length")],
        [
            START,
            ("content_block_start", 0, "text", None),
            ("content_block_delta", 0, "text_delta", "Once"),
            ("content_block_stop", 0),
            ("message_delta", "max_tokens", NO_USAGE),
            STOP,
        ],
        id="finish length is max_tokens",
    ),
    pytest.param(
        [delta("content_filter")],
        [START, ("message_delta", "refusal", NO_USAGE), STOP],
        id="finish content_filter is refusal",
    ),
    pytest.param(
        [delta("something_new")],
        [START, ("message_delta", "end_turn", NO_USAGE), STOP],
        id="an unknown finish reason is end_turn",
    ),
    pytest.param(
        [
            delta(content="Hi"),
            delta("stop"),
            {
                "choices": [],
                "usage": {**USAGE, "cache_read_tokens": 20},
            },
        ],
        [
            START,
            ("content_block_start", 0, "text", None),
            ("content_block_delta", 0, "text_delta", "Hi"),
            ("content_block_stop", 0),
            (
                "message_delta",
                "end_turn",
                {
                    "input_tokens": 10,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 20,
                    "output_tokens": 4,
                },
            ),
            STOP,
        ],
        id="usage: cached tokens counted apart from input tokens",
    ),
]


@pytest.mark.parametrize(("chunks", "expected"), STREAMS)
def test_a_chunk_stream_becomes_messages_events(
    chunks: list[Chunk], expected: list[tuple[Any, ...]]
) -> None:
    assert [summary(event) for event in parsed(framed(chunks))] == expected


def test_the_stream_starts_with_the_message_and_the_input_estimate() -> None:
    first = parsed(framed([delta(content="Hi")], input_estimate=12))[0]

    assert first == {
        "type": "message_start",
        "message": {
            "id": "msg_abc",
            "type": "message",
            "role": "assistant",
            "model": "public-model",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 0},
        },
    }


def test_blocks_start_empty_and_the_stream_ends_without_a_stop_sequence() -> None:
    events = parsed(framed([delta(reasoning_content="a"), delta(content="b"), fragment(0, "t")]))

    starts = [e["content_block"] for e in events if e["type"] == "content_block_start"]
    assert starts == [
        {"type": "thinking", "thinking": "", "signature": ""},
        {"type": "text", "text": ""},
        {"type": "tool_use", "id": "t", "name": "", "input": {}},
    ]
    assert events[-2]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}


def test_a_tool_call_without_an_id_gets_an_anthropic_one() -> None:
    events = parsed(framed([delta(tool_calls=[{"function": {"name": "f"}}])]))

    block = events[1]["content_block"]
    assert block["id"].startswith("toolu_")
    assert len(block["id"]) == len("toolu_") + 24


def test_a_failed_stream_ends_with_an_error_event_in_anthropics_shape() -> None:
    events = MessageEvents(REPLY, 1)

    raw = events.error(UpstreamTimeout("Gateway timeout."))

    assert raw == (
        b'event: error\ndata: {"type":"error","error":'
        b'{"type":"timeout_error","message":"Gateway timeout."}}\n\n'
    )


def test_a_chunk_with_nothing_to_say_writes_only_the_start_once() -> None:
    events = MessageEvents(REPLY, 1)

    first = events.frame({"choices": [], "usage": USAGE})
    second = events.frame(delta(content=""))

    assert [summary(e) for e in parsed(first or b"")] == [START]
    assert second is None


# --- the non-streamed message ------------------------------------------------------------


def message(chunks: list[Chunk]) -> dict[str, Any]:
    builder = CompletionBuilder()
    for chunk in chunks:
        builder.add(chunk)
    return render_message(builder, REPLY)


MESSAGES_OUT = [
    pytest.param(
        SIGNED_THINKING,
        [
            {"type": "thinking", "thinking": "Hm", "signature": "c2ln"},
            {"type": "redacted_thinking", "data": "b3Bx"},
            {"type": "thinking", "thinking": "More", "signature": ""},
            {"type": "text", "text": "42"},
        ],
        "end_turn",
        id="signed and redacted thinking blocks, as the provider gave them",
    ),
    pytest.param(
        [delta(content="Hel"), delta(content="lo"), delta("stop")],
        [{"type": "text", "text": "Hello"}],
        "end_turn",
        id="text",
    ),
    pytest.param([], [], "end_turn", id="nothing"),
    pytest.param(
        [delta(reasoning_content="Hmm."), delta(content="42"), delta("stop")],
        [{"type": "thinking", "thinking": "Hmm.", "signature": ""}, {"type": "text", "text": "42"}],
        "end_turn",
        id="thinking, then text",
    ),
    pytest.param(
        [delta(content="I "), delta(refusal="can't."), delta("stop")],
        [{"type": "text", "text": "I can't."}],
        "refusal",
        id="a refusal is text, and the stop reason",
    ),
    pytest.param(
        [
            fragment(0, "call_1", "f", '{"a":'),
            fragment(0, arguments="1}"),
            fragment(1, "call_2", "g"),
        ],
        [
            {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}},
            {"type": "tool_use", "id": "call_2", "name": "g", "input": {}},
        ],
        "tool_use",
        id="tool calls, their arguments parsed, none is an empty input",
    ),
    pytest.param(
        [delta(content="Once"), delta("length")],
        [{"type": "text", "text": "Once"}],
        "max_tokens",
        id="finish length is max_tokens",
    ),
]


@pytest.mark.parametrize(("chunks", "content", "stop_reason"), MESSAGES_OUT)
def test_the_non_streamed_message_holds_the_blocks_the_stream_would(
    chunks: list[Chunk], content: list[dict[str, Any]], stop_reason: str
) -> None:
    assert message(chunks) == {
        "id": "msg_abc",
        "type": "message",
        "role": "assistant",
        "model": "public-model",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 0,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 0,
        },
    }


def test_the_non_streamed_message_reports_anthropics_usage() -> None:
    usage: Usage = {**USAGE, "cache_read_tokens": 20}

    out = message([delta(content="Hi"), {"choices": [], "usage": usage}])

    assert out["usage"] == {
        "input_tokens": 10,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 20,
        "output_tokens": 4,
    }


@pytest.mark.parametrize(
    "arguments",
    [pytest.param("{", id="not json"), pytest.param("[1]", id="not an object")],
)
def test_tool_arguments_that_are_not_a_json_object_are_the_providers_failure(
    arguments: str,
) -> None:
    with pytest.raises(UpstreamFailed):
        message([fragment(0, "c", "f", arguments)])


def test_a_tool_name_the_chat_schema_refuses_is_named_by_its_messages_path() -> None:
    body = request(tools=[WEB_SEARCH, {"name": "", "input_schema": {}}])

    assert refusal(body) == invalid("tools[1].name", "String should have at least 1 character.")
