"""`POST /v1/responses` through the official `openai` SDK and on the wire, both provider paths.

The gateway translates each request into a chat completion for the scripted fake
upstream; these tests check what the client receives and what the provider was sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from gateway.config import Settings
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY, gateway_env
from tests.support.servers import serve

ROUTES = ["direct", "via-litellm"]
AUTH = {"authorization": f"Bearer {TENANT_KEY}"}
WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def sse_events(
    url: str, body: dict[str, Any]
) -> tuple[httpx.Response, bytes, list[dict[str, Any]]]:
    """POST a streamed request; the response, its raw body, and each event's data, after
    checking that every event's `event:` line names its data's `type`."""
    with httpx.stream("POST", f"{url}/v1/responses", headers=AUTH, json=body) as response:
        raw = response.read()
    events = []
    for block in raw.decode().split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        assert lines[0].startswith("event: "), block
        assert lines[1].startswith("data: "), block
        data = json.loads(lines[1].removeprefix("data: "))
        assert lines[0].removeprefix("event: ") == data["type"]
        events.append(data)
    return response, raw, events


def parallel_calls() -> fake.Script:
    """Two tool calls in one turn, streamed one after the other as OpenAI does."""
    steps = [fake.chunk({"role": "assistant", "content": None})]
    for index, (call_id, city) in enumerate([("call_a", "Paris"), ("call_b", "Oslo")]):
        first = {"index": index, "id": call_id, "type": "function"}
        steps.append(
            fake.chunk(
                {"tool_calls": [{**first, "function": {"name": "get_weather", "arguments": ""}}]}
            )
        )
        arguments = json.dumps({"city": city})
        for piece in (arguments[:5], arguments[5:]):
            steps.append(
                fake.chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            )
    steps += [fake.chunk({}, "tool_calls"), fake.usage()]
    return fake.Script(steps=steps)


@pytest.mark.parametrize("model", ROUTES)
def test_create_returns_a_response_object_with_text_and_usage(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hello", ",", " world"])

    raw = client.responses.with_raw_response.create(model=model, input="Say hello")
    response = raw.parse()

    assert response.id == raw.headers["x-request-id"]
    assert response.id.startswith("resp_")
    assert (response.object, response.status, response.model) == ("response", "completed", model)
    assert response.output_text == "Hello, world"
    [message] = response.output
    assert message.type == "message"
    assert message.status == "completed"
    assert response.usage is not None
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (5, 7, 12)
    assert upstream.last().body["messages"] == [{"role": "user", "content": "Say hello"}]


@pytest.mark.parametrize("model", ROUTES)
def test_stream_sends_the_events_in_order_with_sequence_numbers_and_one_id(
    gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hello", ",", " world"])

    response, raw, events = sse_events(
        gateway_url, {"model": model, "input": "Say hello", "stream": True}
    )

    assert response.headers["content-type"].startswith("text/event-stream")
    assert [e["type"] for e in events] == TEXT_EVENTS
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert b"[DONE]" not in raw
    response_id = response.headers["x-request-id"]
    assert {events[0]["response"]["id"], events[-1]["response"]["id"]} == {response_id}
    assert events[0]["response"]["status"] == "in_progress"
    item_id = events[2]["item"]["id"]
    assert {e["item_id"] for e in events[3:9]} == {item_id}
    assert "".join(e["delta"] for e in events if e["type"].endswith(".delta")) == "Hello, world"
    assert events[7]["text"] == "Hello, world"
    completed = events[-1]["response"]
    assert completed["status"] == "completed"
    assert completed["output"] == [events[-2]["item"]]
    assert completed["usage"]["input_tokens"] == 5
    assert completed["usage"]["output_tokens"] == 7
    assert completed["usage"]["total_tokens"] == 12


@pytest.mark.parametrize("model", ROUTES)
def test_stream_helper_builds_the_final_response_with_reasoning(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.reasoning(["Let me", " think."], "42")

    with client.responses.stream(model=model, input="The answer?") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()

    assert deltas == ["42"]
    assert final.output_text == "42"
    reasoning, message = final.output
    assert reasoning.type == "reasoning"
    assert message.type == "message"
    assert reasoning.content is not None
    assert [part.text for part in reasoning.content] == ["Let me think."]
    assert final.usage is not None
    assert final.usage.total_tokens == 12

    collected = client.responses.create(model=model, input="The answer?")
    assert [item.type for item in collected.output] == ["reasoning", "message"]
    assert collected.output_text == "42"


@pytest.mark.parametrize("model", ROUTES)
@pytest.mark.parametrize("stream", [True, False])
def test_function_tool_loop_over_two_turns(
    client: openai.OpenAI, upstream: FakeUpstream, model: str, stream: bool
) -> None:
    upstream.scripts["scripted"] = [
        fake.tool_call("get_weather", '{"city": "Paris"}'),
        fake.text(["Sunny", " in Paris"]),
    ]
    history: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]

    def turn() -> Any:
        if not stream:
            return client.responses.create(model=model, input=history, tools=[WEATHER])
        with client.responses.stream(model=model, input=history, tools=[WEATHER]) as events:
            return events.get_final_response()

    first = turn()
    [call] = first.output
    assert call.type == "function_call"
    assert (call.call_id, call.name, call.arguments) == (
        "call_1",
        "get_weather",
        '{"city": "Paris"}',
    )
    history += [item.model_dump(exclude_none=True) for item in first.output]
    history.append({"type": "function_call_output", "call_id": call.call_id, "output": "sunny"})
    second = turn()

    assert second.output_text == "Sunny in Paris"
    sent = upstream.last().body
    # LiteLLM leaves out `content: null`; the direct path sends it.
    messages = [{k: v for k, v in m.items() if v is not None} for m in sent["messages"]]
    assert messages == [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    assert sent["tools"] == [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    ]


@pytest.mark.parametrize("model", ROUTES)
def test_parallel_function_calls_are_separate_items_and_go_back_as_one_turn(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = parallel_calls()
    question = {"role": "user", "content": "Paris and Oslo?"}

    with client.responses.stream(model=model, input=[question], tools=[WEATHER]) as events:
        argument_deltas = [e for e in events if e.type == "response.function_call_arguments.delta"]
        streamed = events.get_final_response()
    collected = client.responses.create(model=model, input=[question], tools=[WEATHER])

    for response in (streamed, collected):
        calls = [(c.call_id, c.name, json.loads(c.arguments)) for c in response.output]
        assert calls == [
            ("call_a", "get_weather", {"city": "Paris"}),
            ("call_b", "get_weather", {"city": "Oslo"}),
        ]
    assert {e.output_index for e in argument_deltas} == {0, 1}

    outputs = [
        {"type": "function_call_output", "call_id": c, "output": f"{c} sunny"}
        for c in ("call_a", "call_b")
    ]
    items = [item.model_dump(exclude_none=True) for item in streamed.output]
    upstream.scripts["scripted"] = fake.text(["Both sunny"])
    answer = client.responses.create(model=model, input=[question, *items, *outputs])

    assert answer.output_text == "Both sunny"
    messages = upstream.last().body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["call_a", "call_b"]
    assert [m["tool_call_id"] for m in messages[2:]] == ["call_a", "call_b"]


@pytest.mark.parametrize("model", ROUTES)
def test_hitting_max_output_tokens_makes_the_response_incomplete(
    client: openai.OpenAI, gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Once", " upon"], finish="length")

    _, _, events = sse_events(
        gateway_url, {"model": model, "input": "A story", "stream": True, "max_output_tokens": 2}
    )
    collected = client.responses.create(model=model, input="A story", max_output_tokens=2)

    assert events[-1]["type"] == "response.incomplete"
    for response in (events[-1]["response"], collected.model_dump()):
        assert response["status"] == "incomplete"
        assert response["incomplete_details"] == {"reason": "max_output_tokens"}
        assert response["output"][0]["status"] == "incomplete"
    assert upstream.last().body["max_completion_tokens"] == 2


@pytest.mark.parametrize("model", ROUTES)
def test_request_fields_are_translated_and_codex_fields_accepted(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    response = client.responses.create(
        model=model,
        instructions="Be brief.",
        input=[
            {"role": "developer", "content": [{"type": "input_text", "text": "Use JSON."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
        ],
        tools=[
            {**WEATHER, "description": "Weather", "strict": True},
            {"type": "web_search"},
            {"type": "namespace", "name": "mcp", "description": "x", "tools": []},
        ],
        text={"format": {"type": "json_schema", "name": "answer", "schema": schema}},
        reasoning={"effort": "low", "summary": "auto"},
        include=["reasoning.encrypted_content"],
        store=False,
        max_output_tokens=50,
        temperature=0.5,
        metadata={"run": "7"},
    )

    sent = upstream.last().body
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "Use JSON."},
        {"role": "user", "content": "Hi"},
    ]
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather",
                "parameters": {"type": "object"},
                "strict": True,
            },
        }
    ]
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema},
    }
    assert (sent["reasoning_effort"], sent["max_completion_tokens"], sent["temperature"]) == (
        "low",
        50,
        0.5,
    )
    for field in ("store", "include", "metadata", "reasoning", "text", "instructions", "input"):
        assert field not in sent
    assert response.metadata == {"run": "7"}
    assert response.store is False


def test_tool_choice_forcing_a_built_in_tool_is_a_400_naming_it(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(
            model="direct",
            input="Search",
            tools=[{"type": "web_search"}],
            tool_choice={"type": "web_search"},
        )

    assert raised.value.status_code == 400
    assert "web_search" in raised.value.message
    assert raised.value.param == "tool_choice"
    assert upstream.requests == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x", "max_output_tokens": 0}, "max_output_tokens"),
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"input": [{"type": "item_reference", "id": "x"}]}, "input[0].type"),
        ({"input": "x", "temperature": 3}, "temperature"),
        ({"input": 7}, "input"),
        ({"input": "x", "api_base": "http://elsewhere"}, "api_base"),
    ],
)
def test_invalid_requests_are_400s_naming_the_responses_field(
    gateway_url: str, upstream: FakeUpstream, body: dict[str, Any], param: str
) -> None:
    response = httpx.post(
        f"{gateway_url}/v1/responses", headers=AUTH, json={"model": "direct", **body}
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert upstream.requests == []


def test_errors_before_the_first_byte_are_raised_by_the_sdk(
    client: openai.OpenAI, gateway_url: str, upstream: FakeUpstream
) -> None:
    stranger = openai.OpenAI(base_url=gateway_url + "/v1", api_key="sk-nobody", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as unauthorized:
        stranger.responses.create(model="direct", input="hi", stream=True)
    with pytest.raises(openai.NotFoundError) as unknown:
        client.responses.create(model="no-such-model", input="hi")

    assert unauthorized.value.code == "invalid_api_key"
    assert unknown.value.code == "model_not_found"
    assert upstream.requests == []


@pytest.mark.parametrize("model", ROUTES)
@pytest.mark.parametrize("stream", [True, False])
def test_a_provider_429_is_a_rate_limit_error_with_retry_after(
    client: openai.OpenAI, upstream: FakeUpstream, model: str, stream: bool
) -> None:
    upstream.scripts["scripted"] = fake.error(429, "Slow down", {"retry-after": "7"})

    with pytest.raises(openai.RateLimitError) as raised:
        client.responses.create(model=model, input="hi", stream=stream)

    assert raised.value.response.headers["retry-after"] == "7"
    assert "Slow down" in raised.value.message


@pytest.mark.parametrize("model", ROUTES)
def test_a_stream_that_breaks_off_ends_with_response_failed(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Half", " an"], ending="close", with_usage=False)
    upstream.scripts["scripted"].steps.pop()  # no finish_reason either

    events = list(client.responses.create(model=model, input="hi", stream=True))
    with (
        client.responses.stream(model=model, input="hi") as stream,
        pytest.raises(RuntimeError, match=r"response\.completed"),
    ):
        stream.get_final_response()

    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.status == "failed"
    assert failed.response.error is not None
    assert failed.response.error.code == "server_error"
    assert failed.response.id == events[0].response.id
    [message] = failed.response.output
    assert message.type == "message"
    assert message.status == "incomplete"
    assert message.content[0].text == "Half an"


@pytest.fixture(scope="module")
def impatient_url(upstream: FakeUpstream) -> Iterator[str]:
    env = gateway_env(
        upstream.url, GATEWAY_KEEPALIVE_SECONDS="0.1", GATEWAY_IDLE_TIMEOUT_SECONDS="0.5"
    )
    with serve(Settings.from_env(env)) as url:
        yield url


@pytest.mark.parametrize("model", ROUTES)
def test_a_silent_provider_gets_keepalives_then_response_failed(
    impatient_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.Script(steps=[], ending="hang")

    _, raw, events = sse_events(impatient_url, {"model": model, "input": "hi", "stream": True})

    assert raw.startswith(b": keep-alive\n\n")
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.failed",
    ]
    assert "sent nothing for 0.5 seconds" in events[-1]["response"]["error"]["message"]
