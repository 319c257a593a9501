"""The official `anthropic` SDK against `/v1/messages`, served by uvicorn over loopback.

Each behaviour is checked on both provider paths (direct and LiteLLM) against the same
scripted fake upstream: what the SDK hands its user, and what reached the provider.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anthropic
import httpx
import pytest

from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY

ROUTES = ["direct", "via-litellm"]
HELLO = [{"role": "user", "content": "Say hello"}]
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAE"
    "hQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture
def client(gateway_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway_url, api_key=TENANT_KEY, max_retries=0)


def sent(upstream: FakeUpstream) -> dict[str, Any]:
    """The body the provider received for the last request."""
    return upstream.last().body


@pytest.mark.parametrize("model", ROUTES)
def test_create_returns_one_message_with_text_stop_reason_and_usage(
    client: anthropic.Anthropic, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hello", ",", " world"])

    response = client.messages.with_raw_response.create(model=model, max_tokens=64, messages=HELLO)
    message = response.parse()

    assert message.id == response.headers["x-request-id"]
    assert message.id.startswith("msg_")
    assert (message.type, message.role, message.model) == ("message", "assistant", model)
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [
        ("text", "Hello, world")
    ]
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    assert (message.usage.input_tokens, message.usage.output_tokens) == (5, 7)
    assert sent(upstream)["max_tokens"] == 64
    assert sent(upstream)["messages"] == HELLO


@pytest.mark.parametrize("model", ROUTES)
def test_the_stream_has_every_event_in_order_each_named_by_an_event_line(
    gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hello", " world"])

    response = httpx.post(
        f"{gateway_url}/v1/messages",
        headers={"x-api-key": TENANT_KEY, "anthropic-version": "2023-06-01"},
        json={"model": model, "max_tokens": 64, "stream": True, "messages": HELLO},
    )

    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in response.text.strip().split("\n\n"):
        event_line, data_line = block.split("\n")
        data = json.loads(data_line.removeprefix("data: "))
        assert event_line == f"event: {data['type']}"
        events.append(data)
    assert [e["type"] for e in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0]["message"]
    assert start["id"] == response.headers["x-request-id"]
    assert (start["model"], start["content"], start["stop_reason"]) == (model, [], None)
    assert start["usage"]["input_tokens"] > 0  # the gateway's estimate, until the provider's
    assert events[1]["content_block"] == {"type": "text", "text": ""}
    assert [e["delta"] for e in events[2:4]] == [
        {"type": "text_delta", "text": "Hello"},
        {"type": "text_delta", "text": " world"},
    ]
    assert {e["index"] for e in events[1:5]} == {0}
    assert events[5]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[5]["usage"] == {
        "input_tokens": 5,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 7,
    }


@pytest.mark.parametrize("model", ROUTES)
def test_the_stream_helper_builds_the_final_message(
    client: anthropic.Anthropic, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hello", ",", " world"])

    with client.messages.stream(model=model, max_tokens=64, messages=HELLO) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == "Hello, world"
    assert final.content[0].type == "text"
    assert final.content[0].text == "Hello, world"
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (5, 7)


@pytest.mark.parametrize("model", ROUTES)
def test_a_tool_loop_over_two_turns(
    client: anthropic.Anthropic, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = [
        fake.tool_call("get_weather", '{"city": "Paris"}'),
        fake.text(["It is sunny."]),
    ]
    question = {"role": "user", "content": "Weather in Paris?"}

    with client.messages.stream(
        model=model, max_tokens=64, messages=[question], tools=[WEATHER_TOOL]
    ) as stream:
        first = stream.get_final_message()
    answer = client.messages.create(
        model=model,
        max_tokens=64,
        tools=[WEATHER_TOOL],
        messages=[
            question,
            {"role": "assistant", "content": first.content},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "18C, sunny"},
                    {"type": "text", "text": "Answer briefly."},
                ],
            },
        ],
    )

    assert first.stop_reason == "tool_use"
    [call] = first.content
    assert call.type == "tool_use"
    assert (call.id, call.name, call.input) == ("call_1", "get_weather", {"city": "Paris"})
    assert answer.content[0].type == "text"
    assert answer.content[0].text == "It is sunny."
    body = sent(upstream)
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city.",
                "parameters": WEATHER_TOOL["input_schema"],
            },
        }
    ]
    [_, assistant, tool, user] = body["messages"]
    assert assistant["role"] == "assistant"
    [sent_call] = assistant["tool_calls"]
    assert (sent_call["id"], sent_call["function"]["name"]) == ("call_1", "get_weather")
    assert json.loads(sent_call["function"]["arguments"]) == {"city": "Paris"}
    assert tool == {"role": "tool", "tool_call_id": "call_1", "content": "18C, sunny"}
    assert user == {"role": "user", "content": "Answer briefly."}


@pytest.mark.parametrize("model", ROUTES)
def test_system_prompt_and_images_reach_the_provider(
    client: anthropic.Anthropic, upstream: FakeUpstream, model: str
) -> None:
    client.messages.create(
        model=model,
        max_tokens=64,
        system=[{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}],
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in these?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PIXEL},
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
                ],
            }
        ],
    )

    system, user = sent(upstream)["messages"]
    assert system == {"role": "system", "content": "Be brief.\n\nBe kind."}
    assert user["role"] == "user"
    assert [part["type"] for part in user["content"]] == ["text", "image_url", "image_url"]
    assert user["content"][0]["text"] == "What is in these?"
    assert user["content"][1]["image_url"]["url"] == f"data:image/png;base64,{PIXEL}"
    assert user["content"][2]["image_url"]["url"] == "https://x.test/a.png"


@pytest.mark.parametrize("model", ROUTES)
def test_reasoning_becomes_a_thinking_block_before_the_text(
    client: anthropic.Anthropic, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.reasoning(["Let me", " think."], "42")
    thinking: Any = {"type": "enabled", "budget_tokens": 2048}

    with client.messages.stream(
        model=model, max_tokens=4096, messages=HELLO, thinking=thinking
    ) as stream:
        streamed = stream.get_final_message()
    effort = sent(upstream).get("reasoning_effort")
    collected = client.messages.create(
        model=model, max_tokens=4096, messages=HELLO, thinking=thinking
    )

    assert effort == "low"
    for message in (streamed, collected):
        assert [block.type for block in message.content] == ["thinking", "text"]
        assert message.content[0].thinking == "Let me think."  # type: ignore[union-attr]
        assert message.content[1].text == "42"  # type: ignore[union-attr]


@pytest.mark.parametrize("model", ROUTES)
def test_finish_reasons_become_stop_reasons(
    client: anthropic.Anthropic, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["cut"], finish="length")

    with client.messages.stream(model=model, max_tokens=1, messages=HELLO) as stream:
        streamed = stream.get_final_message()
    collected = client.messages.create(model=model, max_tokens=1, messages=HELLO)

    assert streamed.stop_reason == collected.stop_reason == "max_tokens"


@pytest.mark.parametrize("model", ROUTES)
def test_parameters_are_translated_and_what_no_route_honours_is_left_out(
    client: anthropic.Anthropic,
    upstream: FakeUpstream,
    caplog: pytest.LogCaptureFixture,
    model: str,
) -> None:
    """What Claude Code sends on every request, plus the sampling parameters."""
    client.messages.create(
        model=model,
        max_tokens=8000,
        system=[
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.3.f86; cch=ab1;"},
            {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}},
        ],
        messages=[
            {
                "role": "user",
                "content": [{"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}}],
            }
        ],
        tools=[
            WEATHER_TOOL,
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 2},
        ],
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
        stop_sequences=["END"],
        metadata={"user_id": "user-1234"},
        extra_body={
            "temperature": 0.5,
            "top_p": 0.9,
            "top_k": 40,
            "thinking": {"type": "adaptive"},
            "context_management": {"edits": [{"type": "clear_thinking_20251015"}]},
            "output_config": {"effort": "high"},
        },
    )

    body = sent(upstream)
    assert body["max_tokens"] == 8000
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},  # not the header that changes every time
        {"role": "user", "content": "Hi"},
    ]
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather"]
    assert body["tool_choice"] == "required"
    assert body["parallel_tool_calls"] is False
    assert body["stop"] == ["END"]
    # LiteLLM forwards `user` only for models in OpenAI's own catalogue.
    assert body.get("user") == ("user-1234" if model == "direct" else None)
    assert (body["temperature"], body["top_p"], body["top_k"]) == (0.5, 0.9, 40)
    for name in ("thinking", "context_management", "output_config", "metadata"):
        assert name not in body
    assert "reasoning_effort" not in body
    assert "cache_control" not in json.dumps(body)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and not caplog.records:
        time.sleep(0.02)
    [record] = [r for r in caplog.records if r.getMessage() == "fields left out"]
    assert record.left_out == [  # type: ignore[attr-defined]
        "cache_control",
        "context_management",
        "output_config.effort",
        "thinking adaptive",
        "tool web_search",
        "x-anthropic-billing-header",
    ]


def test_optional_fields_sent_as_null_count_as_absent(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    optional = ["system", "stream", "stop_sequences", "temperature", "top_p", "top_k"]
    optional += ["metadata", "tools", "tool_choice", "thinking", "output_config"]

    response = httpx.post(
        f"{gateway_url}/v1/messages",
        headers={"x-api-key": TENANT_KEY},
        json={"model": "direct", "max_tokens": 8, "messages": HELLO} | dict.fromkeys(optional),
    )

    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == "Hello world"
    assert set(sent(upstream)) == {"model", "messages", "max_tokens", "stream", "stream_options"}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "none"}, "none"),
        (
            {"type": "tool", "name": "get_weather"},
            {"type": "function", "function": {"name": "get_weather"}},
        ),
    ],
)
def test_tool_choice_is_translated(
    client: anthropic.Anthropic, upstream: FakeUpstream, choice: Any, expected: object
) -> None:
    client.messages.create(
        model="direct", max_tokens=64, messages=HELLO, tools=[WEATHER_TOOL], tool_choice=choice
    )

    assert sent(upstream)["tool_choice"] == expected
    assert "parallel_tool_calls" not in sent(upstream)


def test_count_tokens_estimates_and_grows_with_the_prompt(client: anthropic.Anthropic) -> None:
    short = client.messages.count_tokens(model="echo", messages=HELLO)
    longer = client.messages.count_tokens(
        model="echo",
        system="You are a helpful assistant. " * 10,
        messages=HELLO,
        tools=[WEATHER_TOOL],
    )

    assert 0 < short.input_tokens < 20
    assert longer.input_tokens > short.input_tokens + 60
