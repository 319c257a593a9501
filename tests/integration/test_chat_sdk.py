"""The official `openai` SDK against the gateway served by uvicorn, over loopback.

Each behaviour is checked on both provider paths: the direct OpenAI-compatible one and
LiteLLM, against the same scripted fake upstream.
"""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import PROVIDER_KEY, TENANT_KEY

ROUTES = ["direct", "via-litellm"]
MESSAGES = [{"role": "user", "content": "Say hello"}]


@pytest.mark.parametrize("model", ROUTES)
def test_stream_delivers_text_with_one_id_role_first_and_a_finish_reason(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hello", ",", " world"])

    with client.chat.completions.with_streaming_response.create(
        model=model, messages=MESSAGES, stream=True
    ) as response:
        request_id = response.headers["x-request-id"]
        chunks = list(response.parse())

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello, world"
    assert {c.id for c in chunks} == {request_id}
    assert len({c.created for c in chunks}) == 1
    assert {c.model for c in chunks} == {model}
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert all(c.usage is None for c in chunks)


@pytest.mark.parametrize("model", ROUTES)
def test_include_usage_adds_one_final_usage_chunk(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hi"])

    chunks = list(
        client.chat.completions.create(
            model=model, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )

    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (
        chunks[-1].usage.prompt_tokens,
        chunks[-1].usage.completion_tokens,
        chunks[-1].usage.total_tokens,
    ) == (5, 7, 12)
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "stop"


def test_without_reported_usage_litellm_estimates_it_from_the_whole_stream(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    words = [" alpha", " bravo", " charlie", " delta", " echo", " foxtrot", " golf", " hotel"]
    upstream.scripts["scripted"] = fake.text(words, with_usage=False)

    chunks = list(
        client.chat.completions.create(
            model="via-litellm",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    usage = chunks[-1].usage
    assert usage is not None
    assert usage.completion_tokens >= len(words)  # every word counted, not just the last
    assert usage.prompt_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


@pytest.mark.parametrize("model", ROUTES)
def test_tool_call_fragments_are_streamed_and_assemble(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.tool_call("get_weather", '{"city": "Paris"}')
    tools = [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    ]

    chunks = list(
        client.chat.completions.create(
            model=model,
            messages=MESSAGES,
            stream=True,
            tools=tools,
        )
    )

    fragments = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert fragments[0].id == "call_1"
    assert fragments[0].function is not None
    assert fragments[0].function.name == "get_weather"
    assert {f.index for f in fragments} == {0}
    assert "".join(f.function.arguments or "" for f in fragments if f.function) == (
        '{"city": "Paris"}'
    )
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("model", ROUTES)
def test_non_streaming_completion_assembles_text_tool_calls_and_usage(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.tool_call("lookup", '{"q": "x"}')

    completion = client.chat.completions.create(model=model, messages=MESSAGES)

    assert completion.object == "chat.completion"
    assert completion.model == model
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.role == "assistant"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert (call.id, call.function.name, call.function.arguments) == (
        "call_1",
        "lookup",
        '{"q": "x"}',
    )
    assert completion.usage is not None
    assert completion.usage.total_tokens == 12


@pytest.mark.parametrize("model", ROUTES)
def test_reasoning_content_is_passed_through(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.reasoning(["Let me", " think."], "42")

    chunks = list(client.chat.completions.create(model=model, messages=MESSAGES, stream=True))
    completion = client.chat.completions.create(model=model, messages=MESSAGES)

    deltas = [c.choices[0].delta for c in chunks if c.choices]
    reasoning = "".join((d.model_extra or {}).get("reasoning_content") or "" for d in deltas)
    assert reasoning == "Let me think."
    assert "".join(d.content or "" for d in deltas) == "42"
    assert (completion.choices[0].message.model_extra or {})["reasoning_content"] == (
        "Let me think."
    )


@pytest.mark.parametrize("model", ROUTES)
def test_request_parameters_reach_the_provider_but_client_credentials_do_not(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    list(
        client.chat.completions.create(
            model=model,
            messages=MESSAGES,
            stream=True,
            temperature=0.25,
            max_tokens=17,
            stop=["END"],
            seed=7,
            tools=tools,
            tool_choice="auto",
            response_format={"type": "json_object"},
            user="u-1",
            top_p=0.5,
            extra_body={"top_k": 3},
        )
    )

    sent = upstream.last()
    expected = {
        "temperature": 0.25,
        "max_tokens": 17,
        "stop": ["END"],
        "seed": 7,
        "tools": tools,
        "tool_choice": "auto",
        "top_p": 0.5,
        "response_format": {"type": "json_object"},
        "top_k": 3,
    }
    if model == "direct":
        # LiteLLM forwards `user` only for models in OpenAI's own catalogue.
        expected["user"] = "u-1"
    for name, value in expected.items():
        assert sent.body[name] == value, name
    assert sent.body["model"] == "scripted"
    assert sent.body["stream"] is True
    assert sent.headers["authorization"] == f"Bearer {PROVIDER_KEY}"
    assert TENANT_KEY not in json.dumps(sent.headers)


def test_the_direct_path_reuses_its_upstream_connection(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.scripts["scripted"] = fake.text(["again"])

    for _ in range(3):
        list(client.chat.completions.create(model="direct", messages=MESSAGES, stream=True))
        client.chat.completions.create(model="direct", messages=MESSAGES)

    ports = [r.client_port for r in upstream.requests]
    assert len(ports) == 6
    assert len(set(ports)) == 1, ports


@pytest.mark.parametrize(
    "script",
    [
        fake.text(["Hello", ",", " world"]),
        fake.reasoning(["Hm", "m."], "42"),
        fake.tool_call("get_weather", '{"city": "Paris"}'),
    ],
    ids=["text", "reasoning", "tool call"],
)
def test_both_provider_paths_stream_the_same_chunks(
    gateway_url: str, upstream: FakeUpstream, script: fake.Script
) -> None:
    upstream.scripts["scripted"] = script

    def chunks(model: str) -> list[dict[str, object]]:
        raw = httpx.post(
            f"{gateway_url}/v1/chat/completions",
            headers={"authorization": f"Bearer {TENANT_KEY}"},
            json={
                "model": model,
                "messages": MESSAGES,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        ).content
        events = [json.loads(e[6:]) for e in raw.split(b"\n\n") if e.startswith(b"data: {")]
        for event in events:
            del event["id"], event["created"], event["model"]
            for choice in event["choices"]:  # a null field and a missing one read the same
                choice["delta"] = {k: v for k, v in choice["delta"].items() if v is not None}
            if event.get("usage"):  # LiteLLM adds token details; the counts must agree
                event["usage"] = {
                    k: event["usage"][k]
                    for k in ("prompt_tokens", "completion_tokens", "total_tokens")
                }
        return events

    assert chunks("direct") == chunks("via-litellm")
