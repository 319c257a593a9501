"""The Responses door's translations, as tables: a Responses request in, the internal chat
request out (or the 400 a client reads); the internal chunk stream in, the Responses
events and the response object out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.aggregate import CompletionBuilder
from gateway.core.chunks import Chunk, Usage
from gateway.doors.base import Reply
from gateway.doors.responses import RESPONSES
from gateway.doors.responses_events import ResponseEvents, render_response, response_usage
from gateway.doors.responses_request import ResponsesTurn, translate
from gateway.errors import (
    GatewayError,
    InvalidRequest,
    UpstreamFailed,
    UpstreamRateLimited,
    UpstreamTimeout,
)

REPLY = Reply(id="resp_abc", created=1700000000, model="public-model")


# --- request: a Responses body -> the internal chat request ------------------------------


def request(**fields: Any) -> dict[str, Any]:
    return {"model": "m", **fields}


def chat(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": list(messages), **fields}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def call(call_id: str, name: str, arguments: str = "{}") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def call_item(call_id: str, name: str, arguments: str = "{}") -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "input_text", "text": text}


HI = [{"type": "message", "role": "user", "content": "hi"}]
FUNCTION_TOOL = {"type": "function", "name": "f", "parameters": {"type": "object"}}
CHAT_TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}

TRANSLATIONS = [
    pytest.param(
        request(input="hi"), chat(user("hi")), set(), id="string input is one user message"
    ),
    pytest.param(
        request(input="hi", instructions="Be brief."),
        chat({"role": "system", "content": "Be brief."}, user("hi")),
        set(),
        id="instructions become the first system message",
    ),
    pytest.param(
        request(
            input=[{"role": "developer", "content": "Rules."}, {"role": "user", "content": "q"}]
        ),
        chat({"role": "system", "content": "Rules."}, user("q")),
        set(),
        id="developer role becomes system, type defaults to message",
    ),
    pytest.param(
        request(input=[{"type": "message", "role": "user", "content": [text_part("one")]}]),
        chat(user("one")),
        set(),
        id="one text part collapses to a string",
    ),
    pytest.param(
        request(
            input=[
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        text_part("look"),
                        {"type": "input_image", "image_url": "https://x/i.png"},
                        {"type": "input_image", "image_url": "https://x/j.png", "detail": "low"},
                    ],
                }
            ]
        ),
        chat(
            user(
                [
                    {"type": "text", "text": "look"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://x/i.png", "detail": "auto"},
                    },
                    {"type": "image_url", "image_url": {"url": "https://x/j.png", "detail": "low"}},
                ]
            )
        ),
        set(),
        id="images keep their url, detail defaults to auto",
    ),
    pytest.param(
        request(
            input=[
                {
                    "role": "user",
                    "content": [
                        {"type": "input_file", "file_data": "data:x", "filename": "a.pdf"},
                        {"type": "input_file", "file_data": "data:y"},
                    ],
                }
            ]
        ),
        chat(
            user(
                [
                    {"type": "file", "file": {"file_data": "data:x", "filename": "a.pdf"}},
                    {"type": "file", "file": {"file_data": "data:y"}},
                ]
            )
        ),
        set(),
        id="files keep their data and filename when given",
    ),
    pytest.param(
        request(
            input=[
                {
                    "role": "assistant",
                    "content": [
                        {"type": "output_text", "text": "Hel"},
                        {"type": "output_text", "text": "lo"},
                        {"type": "refusal", "refusal": "!"},
                    ],
                }
            ]
        ),
        chat({"role": "assistant", "content": "Hello!"}),
        set(),
        id="an assistant message's text and refusal parts are joined",
    ),
    pytest.param(
        request(input=[*HI, call_item("c1", "f"), call_item("c2", "g", '{"a":1}')]),
        chat(
            user("hi"),
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [call("c1", "f"), call("c2", "g", '{"a":1}')],
            },
        ),
        set(),
        id="consecutive function calls are one assistant message",
    ),
    pytest.param(
        request(input=[{"role": "assistant", "content": "Let me look."}, call_item("c1", "f")]),
        chat({"role": "assistant", "content": "Let me look.", "tool_calls": [call("c1", "f")]}),
        set(),
        id="a function call joins the assistant message before it",
    ),
    pytest.param(
        request(
            input=[
                call_item("c1", "f"),
                {"type": "function_call_output", "call_id": "c1", "output": "42"},
                {
                    "type": "function_call_output",
                    "call_id": "c2",
                    "output": [text_part("4"), text_part("3")],
                },
            ]
        ),
        chat(
            {"role": "assistant", "content": None, "tool_calls": [call("c1", "f")]},
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
            {"role": "tool", "tool_call_id": "c2", "content": "43"},
        ),
        set(),
        id="function call outputs are tool messages, parts joined",
    ),
    pytest.param(
        request(input=[{"type": "reasoning", "id": "rs_1", "summary": []}, *HI]),
        chat(user("hi")),
        set(),
        id="reasoning items are not sent",
    ),
    pytest.param(
        request(input="hi", tools=[FUNCTION_TOOL, {"type": "web_search_preview"}]),
        chat(user("hi"), tools=[CHAT_TOOL]),
        {"tool web_search_preview"},
        id="function tools translate, built-in tools are left out",
    ),
    pytest.param(
        request(
            input="hi",
            tools=[{**FUNCTION_TOOL, "description": "d", "strict": True, "extra": 1}],
        ),
        chat(
            user("hi"),
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "f",
                        "description": "d",
                        "parameters": {"type": "object"},
                        "strict": True,
                    },
                }
            ],
        ),
        set(),
        id="a function tool keeps description, parameters and strict only",
    ),
    pytest.param(
        request(input="hi", tools=[FUNCTION_TOOL], tool_choice="required"),
        chat(user("hi"), tools=[CHAT_TOOL], tool_choice="required"),
        set(),
        id="a tool_choice string passes as is",
    ),
    pytest.param(
        request(input="hi", tools=[FUNCTION_TOOL], tool_choice={"type": "function", "name": "f"}),
        chat(
            user("hi"),
            tools=[CHAT_TOOL],
            tool_choice={"type": "function", "function": {"name": "f"}},
        ),
        set(),
        id="a forced function takes the chat shape",
    ),
    pytest.param(
        request(input="hi", text={"format": {"type": "json_object"}, "verbosity": "low"}),
        chat(user("hi"), response_format={"type": "json_object"}, verbosity="low"),
        set(),
        id="text.format json_object and text.verbosity",
    ),
    pytest.param(
        request(
            input="hi",
            text={"format": {"type": "json_schema", "name": "n", "schema": {}, "strict": True}},
        ),
        chat(
            user("hi"),
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "n", "schema": {}, "strict": True},
            },
        ),
        set(),
        id="text.format json_schema is wrapped",
    ),
    pytest.param(
        request(input="hi", text={"format": {"type": "text"}}),
        chat(user("hi")),
        set(),
        id="text.format text is the default and adds nothing",
    ),
    pytest.param(
        request(input="hi", reasoning={"effort": "high", "summary": "auto"}),
        chat(user("hi"), reasoning_effort="high"),
        set(),
        id="reasoning.effort becomes reasoning_effort, summary is dropped",
    ),
    pytest.param(
        request(input="hi", max_output_tokens=50, top_logprobs=2),
        chat(user("hi"), max_completion_tokens=50, top_logprobs=2, logprobs=True),
        set(),
        id="max_output_tokens and top_logprobs",
    ),
    pytest.param(
        request(input="hi", temperature=0.5, user="u", stream=True, seed=7),
        chat(user("hi"), temperature=0.5, user="u", stream=True, seed=7),
        set(),
        id="fields the door does not read are copied",
    ),
    pytest.param(
        request(
            input="hi",
            store=False,
            metadata={"k": "v"},
            include=["reasoning.encrypted_content"],
            truncation="auto",
            max_tool_calls=3,
            stream_options={"include_obfuscation": False},
            client_metadata={"a": "b"},
            previous_response_id=None,
            background=False,
        ),
        chat(user("hi")),
        set(),
        id="fields the gateway serves itself are not sent",
    ),
]


@pytest.mark.parametrize(("body", "expected", "left_out"), TRANSLATIONS)
def test_a_responses_request_becomes_a_chat_request(
    body: dict[str, Any], expected: dict[str, Any], left_out: set[str]
) -> None:
    turn = translate(body)

    assert (turn.body, set(turn.left_out)) == (expected, left_out)


@pytest.mark.parametrize(
    ("body", "stream", "include_usage"),
    [
        pytest.param(request(input="hi"), False, False, id="not streamed"),
        pytest.param(request(input="hi", stream=True), True, True, id="streamed, with usage"),
    ],
)
def test_a_streamed_request_always_asks_for_usage(
    body: dict[str, Any], stream: bool, include_usage: bool
) -> None:
    turn = translate(body)

    assert (turn.model, turn.stream, turn.include_usage) == (
        "m",
        stream,
        include_usage,
    )


def test_the_turn_keeps_what_the_response_repeats_and_the_input_as_items() -> None:
    turn = translate(request(input="hi", instructions="x", temperature=0.2, store=False))

    assert turn.echo == {
        "instructions": "x",
        "metadata": {},
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "temperature": 0.2,
        "top_p": None,
        "max_output_tokens": None,
        "previous_response_id": None,
        "reasoning": None,
        "text": None,
        "user": None,
        "store": False,
    }
    assert turn.store is False
    assert turn.input_items == HI


def openai_error(status: int, message: str, param: str | None, code: str) -> tuple[int, Any]:
    return status, {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }


def refused(param: str | None, message: str, code: str = "invalid_request") -> tuple[int, Any]:
    return openai_error(400, message, param, code)


def unsupported(param: str, message: str) -> tuple[int, Any]:
    return openai_error(400, message, param, "unsupported")


def invalid(param: str, expected: str) -> tuple[int, Any]:
    return refused(param, f"Invalid value for '{param}': {expected}")


REFUSALS = [
    pytest.param([], refused(None, "The request body must be a JSON object."), id="not an object"),
    pytest.param(
        request(input="hi", background=True),
        unsupported("background", "'background' is not supported by this gateway."),
        id="background",
    ),
    pytest.param(
        request(input="hi", conversation="conv_1"),
        unsupported("conversation", "'conversation' is not supported by this gateway."),
        id="conversation",
    ),
    pytest.param(
        request(input="hi", prompt={"id": "p"}),
        unsupported("prompt", "'prompt' is not supported by this gateway."),
        id="prompt",
    ),
    pytest.param(
        request(input="hi", store="yes"), invalid("store", "expected a boolean."), id="store"
    ),
    pytest.param(
        request(input=5),
        invalid("input", "expected a string or a list of input items."),
        id="input not a string or list",
    ),
    pytest.param(
        request(),
        invalid("input", "expected a string or a list of input items."),
        id="input missing",
    ),
    pytest.param(
        request(input=["hi"]), invalid("input[0]", "expected an object."), id="input item"
    ),
    pytest.param(
        request(input=[{"role": "tool", "content": "x"}]),
        invalid("input[0].role", "expected one of user, assistant, system, developer."),
        id="input role",
    ),
    pytest.param(
        request(input=[{"role": "user", "content": 3}]),
        invalid("input[0].content", "expected a string or a list of content parts."),
        id="message content",
    ),
    pytest.param(
        request(input=[{"role": "user", "content": ["x"]}]),
        invalid("input[0].content[0]", "expected an object."),
        id="content part not an object",
    ),
    pytest.param(
        request(input=[{"role": "user", "content": [{"type": "input_text", "text": 1}]}]),
        invalid("input[0].content[0].text", "expected a string."),
        id="input_text without text",
    ),
    pytest.param(
        request(input=[{"role": "assistant", "content": [{"type": "output_text"}]}]),
        invalid("input[0].content[0]", "expected a text part."),
        id="assistant part without text",
    ),
    pytest.param(
        request(input=[{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]),
        unsupported(
            "input[0].content[0].type",
            "Content parts of type 'input_image' are not supported by this gateway (images "
            "need an `image_url`, files their `file_data`).",
        ),
        id="image by file id",
    ),
    pytest.param(
        request(input=[{"role": "user", "content": [{"type": "input_audio"}]}]),
        unsupported(
            "input[0].content[0].type",
            "Content parts of type 'input_audio' are not supported by this gateway (images "
            "need an `image_url`, files their `file_data`).",
        ),
        id="audio part",
    ),
    pytest.param(
        request(input=[{"type": "computer_call", "call_id": "c"}]),
        unsupported(
            "input[0].type",
            "Input items of type 'computer_call' are not supported by this gateway.",
        ),
        id="item type",
    ),
    pytest.param(
        request(input=[{"type": "function_call", "name": "f", "arguments": "{}"}]),
        invalid("input[0].call_id", "expected a string."),
        id="function call without call_id",
    ),
    pytest.param(
        request(input=[{"type": "function_call", "call_id": "c", "name": "f", "arguments": {}}]),
        invalid("input[0].arguments", "expected a string."),
        id="function call arguments as an object",
    ),
    pytest.param(
        request(input=[{"type": "function_call_output", "call_id": "c", "output": 42}]),
        invalid("input[0].content", "expected a string or a list of content parts."),
        id="function call output a number",
    ),
    pytest.param(
        request(input="hi", instructions=["x"]),
        invalid("instructions", "expected a string."),
        id="instructions",
    ),
    pytest.param(
        request(input="hi", tools={"type": "function"}),
        invalid("tools", "expected a list of tools."),
        id="tools not a list",
    ),
    pytest.param(
        request(input="hi", tools=["f"]), invalid("tools[0]", "expected an object."), id="tool"
    ),
    pytest.param(
        request(input="hi", tools=[{"type": "function"}]),
        invalid("tools[0].name", "expected a string."),
        id="function tool without name",
    ),
    pytest.param(
        request(input="hi", tool_choice=1),
        invalid("tool_choice", "expected a string or an object."),
        id="tool_choice type",
    ),
    pytest.param(
        request(input="hi", tool_choice={"type": "web_search_preview"}),
        unsupported(
            "tool_choice",
            "tool_choice forces 'web_search_preview', which this gateway cannot run: it serves "
            "function tools only.",
        ),
        id="tool_choice forcing a built-in tool",
    ),
    pytest.param(
        request(input="hi", tool_choice={"type": "function"}),
        invalid("tool_choice.name", "expected a string."),
        id="tool_choice function without name",
    ),
    pytest.param(
        request(input="hi", text="json"), invalid("text", "expected an object."), id="text"
    ),
    pytest.param(
        request(input="hi", text={"format": "json"}),
        invalid("text.format", "expected an object."),
        id="text.format",
    ),
    pytest.param(
        request(input="hi", text={"format": {"type": "xml"}}),
        invalid("text.format.type", "expected text, json_object or json_schema."),
        id="text.format.type",
    ),
    pytest.param(
        request(input="hi", reasoning="high"),
        invalid("reasoning", "expected an object."),
        id="reasoning",
    ),
    pytest.param(
        request(input=[]),
        refused(
            "input",
            "Invalid value for 'input': List should have at least 1 item after validation, not 0.",
        ),
        id="chat schema: no messages, named input",
    ),
    pytest.param(
        request(input="hi", max_output_tokens=0),
        invalid("max_output_tokens", "Input should be greater than or equal to 1."),
        id="chat schema: max_completion_tokens, named max_output_tokens",
    ),
    pytest.param(
        {"input": "hi"},
        invalid("model", "Field required."),
        id="chat schema: model missing",
    ),
    pytest.param(
        request(input="hi", temperature=3),
        invalid("temperature", "Input should be less than or equal to 2."),
        id="chat schema: temperature, same name",
    ),
    pytest.param(
        request(input=[{"role": "user", "content": "x"}] * 20_001),
        invalid(
            "input",
            "a request may hold at most 20000 messages, content parts, tool calls and tools "
            "together.",
        ),
        id="chat schema: more items than a request may hold, named input",
    ),
]


def refusal(body: object) -> tuple[int, Any]:
    """The status and JSON body the client reads when the door refuses `body`."""
    with pytest.raises(InvalidRequest) as caught:
        RESPONSES.parse(body)
    response = RESPONSES.error_response(caught.value)
    return response.status_code, json.loads(response.body)


@pytest.mark.parametrize(("body", "expected"), REFUSALS)
def test_an_invalid_responses_request_is_a_400_naming_the_responses_field(
    body: object, expected: tuple[int, Any]
) -> None:
    assert refusal(body) == expected


# --- events: the internal chunk stream -> Responses events -------------------------------


def delta(finish: str | None = None, **fields: Any) -> Chunk:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": finish}]}


def fragment(index: int, call_id: str | None = None, name: str = "", arguments: str = "") -> Chunk:
    function = {"name": name, "arguments": arguments}
    return delta(tool_calls=[{"index": index, "id": call_id, "function": function}])


def turn() -> ResponsesTurn:
    return translate(request(input="hi"))


def framed(chunks: list[Chunk], error: GatewayError | None = None) -> tuple[bytes, ResponseEvents]:
    """Every byte the door writes for `chunks`, then its ending (or `error`'s event)."""
    events = ResponseEvents(REPLY, turn())
    out = b"".join(events.frame(chunk) or b"" for chunk in chunks)
    return out + (events.ending() if error is None else events.error(error)), events


def parsed(raw: bytes) -> list[dict[str, Any]]:
    """The events' data; each `event:` line must name its data's type, numbered in order."""
    assert raw.endswith(b"\n\n")
    out = []
    for number, event in enumerate(raw[:-2].split(b"\n\n")):
        head, data = event.split(b"\n")
        payload = json.loads(data.removeprefix(b"data: "))
        assert head == b"event: " + payload["type"].encode()
        assert payload["sequence_number"] == number
        out.append(payload)
    return out


def summary(event: dict[str, Any]) -> tuple[Any, ...]:
    """An event as `(type, what it says)`, short enough for a table."""
    kind: str = event["type"]
    short = kind.removeprefix("response.")
    if "response" in event:
        return (short, event["response"]["status"])
    if "item" in event:
        item = event["item"]
        return (short, event["output_index"], item["type"], item.get("status"))
    if "part" in event:
        part = event["part"]
        return (short, event["content_index"], part["type"], part.get("text", part.get("refusal")))
    if "delta" in event:
        return (short, event["output_index"], event["delta"])
    if kind == "response.function_call_arguments.done":
        return (short, event["output_index"], event["name"], event["arguments"])
    return (short, event["output_index"], event.get("text", event.get("refusal")))


START = [("created", "in_progress"), ("in_progress", "in_progress")]
USAGE: Usage = {
    "input_tokens": 3,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "output_tokens": 4,
}

STREAMS = [
    pytest.param(
        [delta(role="assistant", content="Hel"), delta(content="lo"), delta("stop")],
        [
            *START,
            ("output_item.added", 0, "message", "in_progress"),
            ("content_part.added", 0, "output_text", ""),
            ("output_text.delta", 0, "Hel"),
            ("output_text.delta", 0, "lo"),
            ("output_text.done", 0, "Hello"),
            ("content_part.done", 0, "output_text", "Hello"),
            ("output_item.done", 0, "message", "completed"),
            ("completed", "completed"),
        ],
        id="text",
    ),
    pytest.param(
        [],
        [*START, ("completed", "completed")],
        id="no chunks: an empty completed response",
    ),
    pytest.param(
        [delta(reasoning_content="Hmm."), delta(content="42"), delta("stop")],
        [
            *START,
            ("output_item.added", 0, "reasoning", None),
            ("content_part.added", 0, "reasoning_text", ""),
            ("reasoning_text.delta", 0, "Hmm."),
            ("reasoning_text.done", 0, "Hmm."),
            ("content_part.done", 0, "reasoning_text", "Hmm."),
            ("output_item.done", 0, "reasoning", None),
            ("output_item.added", 1, "message", "in_progress"),
            ("content_part.added", 0, "output_text", ""),
            ("output_text.delta", 1, "42"),
            ("output_text.done", 1, "42"),
            ("content_part.done", 0, "output_text", "42"),
            ("output_item.done", 1, "message", "completed"),
            ("completed", "completed"),
        ],
        id="reasoning, then a message",
    ),
    pytest.param(
        [delta(content="I"), delta(refusal="No."), delta("stop")],
        [
            *START,
            ("output_item.added", 0, "message", "in_progress"),
            ("content_part.added", 0, "output_text", ""),
            ("output_text.delta", 0, "I"),
            ("output_text.done", 0, "I"),
            ("content_part.done", 0, "output_text", "I"),
            ("content_part.added", 1, "refusal", ""),
            ("refusal.delta", 0, "No."),
            ("refusal.done", 0, "No."),
            ("content_part.done", 1, "refusal", "No."),
            ("output_item.done", 0, "message", "completed"),
            ("completed", "completed"),
        ],
        id="a refusal is a second part of the message",
    ),
    pytest.param(
        [
            fragment(0, "call_1", "get_", '{"a"'),
            fragment(0, name="weather", arguments=":1}"),
            delta("tool_calls"),
        ],
        [
            *START,
            ("output_item.added", 0, "function_call", "in_progress"),
            ("function_call_arguments.delta", 0, '{"a"'),
            ("function_call_arguments.delta", 0, ":1}"),
            ("function_call_arguments.done", 0, "get_weather", '{"a":1}'),
            ("output_item.done", 0, "function_call", "completed"),
            ("completed", "completed"),
        ],
        id="a tool call in fragments",
    ),
    pytest.param(
        [
            fragment(0, "call_1", "f", "{"),
            fragment(1, "call_2", "g", "["),
            fragment(0, arguments="}"),
            fragment(1, arguments="]"),
            delta("tool_calls"),
        ],
        [
            *START,
            ("output_item.added", 0, "function_call", "in_progress"),
            ("function_call_arguments.delta", 0, "{"),
            ("output_item.added", 1, "function_call", "in_progress"),
            ("function_call_arguments.delta", 1, "["),
            ("function_call_arguments.delta", 0, "}"),
            ("function_call_arguments.delta", 1, "]"),
            ("function_call_arguments.done", 0, "f", "{}"),
            ("output_item.done", 0, "function_call", "completed"),
            ("function_call_arguments.done", 1, "g", "[]"),
            ("output_item.done", 1, "function_call", "completed"),
            ("completed", "completed"),
        ],
        id="interleaved tool calls stay open together",
    ),
    pytest.param(
        [delta(content="Let me check."), fragment(0, "call_1", "f", "{}"), delta("tool_calls")],
        [
            *START,
            ("output_item.added", 0, "message", "in_progress"),
            ("content_part.added", 0, "output_text", ""),
            ("output_text.delta", 0, "Let me check."),
            ("output_text.done", 0, "Let me check."),
            ("content_part.done", 0, "output_text", "Let me check."),
            ("output_item.done", 0, "message", "completed"),
            ("output_item.added", 1, "function_call", "in_progress"),
            ("function_call_arguments.delta", 1, "{}"),
            ("function_call_arguments.done", 1, "f", "{}"),
            ("output_item.done", 1, "function_call", "completed"),
            ("completed", "completed"),
        ],
        id="text, then a tool call: the message closes first",
    ),
    pytest.param(
        [delta(content="Once upon"), delta("length")],
        [
            *START,
            ("output_item.added", 0, "message", "in_progress"),
            ("content_part.added", 0, "output_text", ""),
            ("output_text.delta", 0, "Once upon"),
            ("output_text.done", 0, "Once upon"),
            ("content_part.done", 0, "output_text", "Once upon"),
            ("output_item.done", 0, "message", "incomplete"),
            ("incomplete", "incomplete"),
        ],
        id="finish length: incomplete",
    ),
    pytest.param(
        [fragment(0, "call_1", "f", '{"a'), delta("length")],
        [
            *START,
            ("output_item.added", 0, "function_call", "in_progress"),
            ("function_call_arguments.delta", 0, '{"a'),
            ("function_call_arguments.done", 0, "f", '{"a'),
            ("output_item.done", 0, "function_call", "incomplete"),
            ("incomplete", "incomplete"),
        ],
        id="a tool call cut by length: incomplete",
    ),
    pytest.param(
        [delta(content=""), delta(role="assistant"), {"choices": [], "usage": USAGE}],
        [*START, ("completed", "completed")],
        id="empty deltas and a usage chunk write no item",
    ),
]


@pytest.mark.parametrize(("chunks", "expected"), STREAMS)
def test_a_chunk_stream_becomes_responses_events(
    chunks: list[Chunk], expected: list[tuple[Any, ...]]
) -> None:
    raw, _ = framed(chunks)

    assert [summary(event) for event in parsed(raw)] == expected


@pytest.mark.parametrize(("chunks", "expected"), STREAMS)
def test_the_non_streamed_response_is_the_streams_final_response(
    chunks: list[Chunk], expected: list[tuple[Any, ...]]
) -> None:
    raw, _ = framed(chunks)
    final = parsed(raw)[-1]["response"]
    builder = CompletionBuilder()
    for chunk in chunks:
        builder.add(chunk)

    rendered = render_response(builder, REPLY, turn())

    assert {**rendered, "completed_at": None} == {**final, "completed_at": None}


def test_every_event_names_the_item_and_part_it_belongs_to() -> None:
    raw, _ = framed([delta(content="Hi"), delta("stop")])

    events = parsed(raw)

    assert events[2:8] == [
        {
            "type": "response.output_item.added",
            "sequence_number": 2,
            "output_index": 0,
            "item": {
                "id": "msg_abc_0",
                "type": "message",
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            },
        },
        {
            "type": "response.content_part.added",
            "sequence_number": 3,
            "item_id": "msg_abc_0",
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""},
        },
        {
            "type": "response.output_text.delta",
            "sequence_number": 4,
            "item_id": "msg_abc_0",
            "output_index": 0,
            "content_index": 0,
            "delta": "Hi",
            "logprobs": [],
        },
        {
            "type": "response.output_text.done",
            "sequence_number": 5,
            "item_id": "msg_abc_0",
            "output_index": 0,
            "content_index": 0,
            "text": "Hi",
            "logprobs": [],
        },
        {
            "type": "response.content_part.done",
            "sequence_number": 6,
            "item_id": "msg_abc_0",
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": "Hi"},
        },
        {
            "type": "response.output_item.done",
            "sequence_number": 7,
            "output_index": 0,
            "item": {
                "id": "msg_abc_0",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [
                    {"type": "output_text", "annotations": [], "logprobs": [], "text": "Hi"}
                ],
            },
        },
    ]


def test_the_final_response_carries_the_replys_identity_the_echo_and_the_usage() -> None:
    raw, events = framed([delta(content="Hi"), delta("stop"), {"choices": [], "usage": USAGE}])

    final = parsed(raw)[-1]["response"]

    assert isinstance(final.pop("completed_at"), int)
    assert final == {
        "id": "resp_abc",
        "object": "response",
        "created_at": 1700000000,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "model": "public-model",
        "output": [
            {
                "id": "msg_abc_0",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [
                    {"type": "output_text", "annotations": [], "logprobs": [], "text": "Hi"}
                ],
            }
        ],
        "usage": response_usage(USAGE),
        **turn().echo,
    }
    assert events.final == {**final, "completed_at": events.final["completed_at"]}


def test_a_tool_call_without_an_id_gets_one_from_the_reply() -> None:
    raw, _ = framed([delta(tool_calls=[{"function": {"name": "f", "arguments": "{}"}}])])

    added = parsed(raw)[2]

    assert added["item"]["id"] == "fc_abc_0"
    assert added["item"]["call_id"] == "call_abc_0"


@pytest.mark.parametrize(
    ("chunks", "error", "output", "error_body"),
    [
        pytest.param(
            [delta(content="Hal")],
            UpstreamTimeout("Gateway timeout."),
            [
                {
                    "id": "msg_abc_0",
                    "type": "message",
                    "role": "assistant",
                    "status": "incomplete",
                    "content": [
                        {"type": "output_text", "annotations": [], "logprobs": [], "text": "Hal"}
                    ],
                }
            ],
            {"code": "server_error", "message": "Gateway timeout."},
            id="mid-message: the text so far, incomplete",
        ),
        pytest.param(
            [fragment(0, "call_1", "f", '{"a":')],
            UpstreamFailed("The provider failed."),
            [
                {
                    "id": "fc_abc_0",
                    "type": "function_call",
                    "call_id": "call_1",
                    "name": "f",
                    "arguments": '{"a":',
                    "status": "incomplete",
                }
            ],
            {"code": "server_error", "message": "The provider failed."},
            id="mid-call: the arguments so far, incomplete",
        ),
        pytest.param(
            [],
            UpstreamRateLimited("Slow down."),
            [],
            {"code": "rate_limit_exceeded", "message": "Slow down."},
            id="before any output: rate limited",
        ),
    ],
)
def test_a_failed_stream_ends_with_response_failed_and_the_output_so_far(
    chunks: list[Chunk], error: GatewayError, output: list[Any], error_body: dict[str, Any]
) -> None:
    raw, _ = framed(chunks, error)

    last = parsed(raw)[-1]

    assert last["type"] == "response.failed"
    assert last["response"]["status"] == "failed"
    assert last["response"]["output"] == output
    assert last["response"]["error"] == error_body


@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param(
            [fragment(0, "c1", "f"), delta(content="x"), fragment(0, arguments="{}")],
            id="a closed tool call continued",
        ),
    ],
)
def test_a_chunk_the_door_cannot_frame_is_the_providers_failure(chunks: list[Chunk]) -> None:
    """Chunks of the wrong shape never reach the door: `test_chunk_shape` holds them."""
    events = ResponseEvents(REPLY, turn())
    for chunk in chunks[:-1]:
        events.frame(chunk)

    with pytest.raises(UpstreamFailed):
        events.frame(chunks[-1])


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        pytest.param(None, None, id="none"),
        pytest.param(
            USAGE,
            {
                "input_tokens": 3,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": 4,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 7,
            },
            id="plain",
        ),
        pytest.param(
            {
                "input_tokens": 2,
                "cache_read_tokens": 8,
                "cache_write_tokens": 0,
                "output_tokens": 5,
                "reasoning_tokens": 2,
            },
            {
                "input_tokens": 10,
                "input_tokens_details": {"cached_tokens": 8, "cache_write_tokens": 0},
                "output_tokens": 5,
                "output_tokens_details": {"reasoning_tokens": 2},
                "total_tokens": 15,
            },
            id="cached and reasoning tokens, total computed",
        ),
        pytest.param(
            {
                "input_tokens": 0,
                "cache_read_tokens": 0,
                "cache_write_tokens": 0,
                "output_tokens": 0,
            },
            {
                "input_tokens": 0,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": 0,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 0,
            },
            id="nothing counted: zeros, reasoning too",
        ),
    ],
)
def test_usage_in_the_responses_shape(usage: Usage | None, expected: dict[str, Any] | None) -> None:
    assert response_usage(usage) == expected


def test_a_tool_name_the_chat_schema_refuses_is_named_by_its_responses_path() -> None:
    body = request(input="hi", tools=[{"type": "web_search"}, {**FUNCTION_TOOL, "name": "f" * 65}])

    assert refusal(body) == invalid("tools[1].name", "String should have at most 64 characters.")
