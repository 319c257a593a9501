"""Claude routes through LiteLLM: the chat and Responses doors (translated) on an
`anthropic/...` route, the Messages door (natively, by LiteLLM's Messages interface) on a
Bedrock one. Prompt-cache
breakpoints reach the provider where the client put them, and a tool loop with thinking
keeps its signed thinking blocks both ways. The official SDKs are the clients, the
gateway a real uvicorn server, and the strict stand-in for Anthropic's API (and Claude on
Bedrock, tests/support/anthropic_standin.py) checks every thinking block's signature."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from gateway.config import Settings
from tests.support.anthropic_standin import (
    REDACTED,
    AnthropicStandIn,
    text,
    thinking,
    tool_use,
)
from tests.support.gateway import PROVIDER_KEY, TENANT_KEY
from tests.support.servers import serve, serve_app

STREAM = [False, True]
CACHED = {"type": "ephemeral"}
READ = {
    "type": "function",
    "function": {"name": "Read", "parameters": {"type": "object", "properties": {}}},
}


@pytest.fixture(scope="module")
def anthropic_api() -> Iterator[AnthropicStandIn]:
    stand_in = AnthropicStandIn(PROVIDER_KEY)
    with serve_app(stand_in.app) as url:
        stand_in.url = url  # type: ignore[attr-defined]
        yield stand_in


@pytest.fixture(autouse=True)
def _fresh(anthropic_api: AnthropicStandIn) -> None:
    anthropic_api.reset()


@pytest.fixture(scope="module")
def gateway(anthropic_api: AnthropicStandIn) -> Iterator[str]:
    url = anthropic_api.url  # type: ignore[attr-defined]
    claude = {"model": "anthropic/claude-sonnet-4-5", "api_base": url, "api_key_env": "KEY"}
    bedrock = {"model": "bedrock/invoke/us.anthropic.claude-sonnet-4-5-v1:0", "api_base": url}
    env = {
        "GATEWAY_API_KEYS": json.dumps({"acme": [TENANT_KEY]}),
        "GATEWAY_MODELS": json.dumps({"claude": claude, "claude-bedrock": bedrock}),
        "KEY": PROVIDER_KEY,
    }
    # LiteLLM signs Bedrock requests with the credentials of the environment.
    aws = {"AWS_ACCESS_KEY_ID": "AKIDSTANDIN", "AWS_SECRET_ACCESS_KEY": "standin"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**aws, "AWS_REGION_NAME": "us-east-1"}.items():
            patch.setenv(name, value)
        with serve(Settings.from_env(env)) as gateway_url:
            yield gateway_url


@pytest.fixture(scope="module")
def client(gateway: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway}/v1", api_key=TENANT_KEY, max_retries=0)


def breakpoints(value: Any, path: str = "") -> list[str]:
    """The paths of every `cache_control` in a body."""
    if isinstance(value, dict):
        found = [path] if "cache_control" in value else []
        for name, inner in value.items():
            found += breakpoints(inner, f"{path}.{name}" if path else name)
        return found
    if isinstance(value, list):
        return [p for i, inner in enumerate(value) for p in breakpoints(inner, f"{path}[{i}]")]
    return []


# The chat door


def chat_turn(client: openai.OpenAI, stream: bool, messages: list[Any]) -> dict[str, Any]:
    """One answer's message as the client assembles it: text, tool calls, and the thinking
    blocks (LiteLLM's `thinking_blocks`, pieces joined by `index` when streamed)."""
    request: dict[str, Any] = {
        "model": "claude",
        "max_tokens": 2048,
        "messages": messages,
        "tools": [{**READ, "cache_control": CACHED}],
        "extra_body": {"thinking": {"type": "enabled", "budget_tokens": 500}},
    }
    if not stream:
        answer = client.chat.completions.create(**request)
        return answer.choices[0].message.model_dump(exclude_none=True)
    message: dict[str, Any] = {"role": "assistant", "content": ""}
    blocks: dict[int, dict[str, Any]] = {}
    calls: dict[int, dict[str, Any]] = {}
    for chunk in client.chat.completions.create(stream=True, **request):
        for choice in chunk.choices:
            delta = choice.delta.model_dump(exclude_none=True)
            message["content"] += delta.get("content") or ""
            for piece in delta.get("thinking_blocks") or ():
                block = blocks.setdefault(piece.pop("index"), {"type": piece["type"]})
                block["thinking"] = block.get("thinking", "") + piece.pop("thinking", "")
                block.update(piece)
            for fragment in delta.get("tool_calls") or ():
                call = calls.setdefault(
                    fragment["index"],
                    {"id": fragment.get("id"), "type": "function", "function": {}},
                )
                function = call["function"]
                for name in ("name", "arguments"):
                    function[name] = function.get(name, "") + fragment["function"].get(name, "")
    if blocks:
        message["thinking_blocks"] = [blocks[i] for i in sorted(blocks)]
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return message


@pytest.mark.parametrize("stream", STREAM, ids=["json", "stream"])
def test_a_chat_tool_loop_with_thinking_and_breakpoints_reaches_claude_as_sent(
    client: openai.OpenAI, anthropic_api: AnthropicStandIn, stream: bool
) -> None:
    anthropic_api.turns = [
        [thinking("The file will say."), tool_use("Read", {"path": "a.txt"})],
        [thinking("It says hello."), text("Hello.")],
    ]
    system = {
        "role": "system",
        "content": [{"type": "text", "text": "Terse.", "cache_control": CACHED}],
    }
    user = {
        "role": "user",
        "content": [{"type": "text", "text": "Read a.txt", "cache_control": CACHED}],
    }

    first = chat_turn(client, stream, [system, user])
    result = {
        "role": "tool",
        "tool_call_id": first["tool_calls"][0]["id"],
        "content": [{"type": "text", "text": "hello", "cache_control": CACHED}],
    }
    second = chat_turn(client, stream, [system, user, first, result])

    signed = {
        "type": "thinking",
        "thinking": "The file will say.",
        "signature": anthropic_api.sign("The file will say."),
    }
    assert first["thinking_blocks"] == [signed]
    assert second["thinking_blocks"][0]["signature"] == anthropic_api.sign("It says hello.")
    assert second["content"] == "Hello."
    sent = anthropic_api.last.body
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 500}
    assert sent["messages"][1]["content"][0] == signed
    assert sorted(breakpoints(sent)) == [
        "messages[0].content[0]",
        "messages[2].content[0].content[0]",
        "system[0]",
        "tools[0]",
    ]


# The Responses door


def responses_turn(client: openai.OpenAI, stream: bool, items: list[Any]) -> list[dict[str, Any]]:
    """One answer's output items, as the SDK gives or assembles them."""
    request: dict[str, Any] = {
        "model": "claude",
        "input": items,
        "tools": [{"type": "function", "name": "Read", "parameters": {"type": "object"}}],
        "reasoning": {"effort": "low"},
        "include": ["reasoning.encrypted_content"],
        "store": False,
    }
    if stream:
        with client.responses.stream(**request) as events:
            response = events.get_final_response()
    else:
        response = client.responses.create(**request)
    return [item.model_dump(exclude_none=True) for item in response.output]


@pytest.mark.parametrize("stream", STREAM, ids=["json", "stream"])
def test_a_responses_tool_loop_keeps_claudes_signed_thinking_in_reasoning_items(
    client: openai.OpenAI,
    anthropic_api: AnthropicStandIn,
    caplog: pytest.LogCaptureFixture,
    stream: bool,
) -> None:
    anthropic_api.turns = [
        [thinking("The file will say."), tool_use("Read", {"path": "a.txt"})],
        [thinking("It says hello."), text("Hello.")],
    ]
    user = {"role": "user", "content": "Read a.txt"}
    first = responses_turn(client, stream, [user])
    reasoning, call = first
    openai_s = {"type": "reasoning", "id": "rs_x", "summary": [], "encrypted_content": "gAAAAB"}
    result = {"type": "function_call_output", "call_id": call["call_id"], "output": "hello"}
    with caplog.at_level(logging.INFO, logger="gateway"):
        second = responses_turn(client, stream, [user, openai_s, *first, result])

    signed = {
        "type": "thinking",
        "thinking": "The file will say.",
        "signature": anthropic_api.sign("The file will say."),
    }
    assert reasoning["type"] == "reasoning"
    assert reasoning["content"] == [{"type": "reasoning_text", "text": "The file will say."}]
    assert json.loads(reasoning["encrypted_content"]) == [signed]
    assert second[0]["content"][0]["text"] == "It says hello."
    assert second[-1]["content"][0]["text"] == "Hello."
    assert anthropic_api.last.body["messages"][1]["content"][0] == signed
    left_out = [r.__dict__.get("left_out") for r in caplog.records if r.msg == "fields left out"]
    assert left_out == [["reasoning items of another provider"]]


# The Messages door on Claude on Bedrock, natively through LiteLLM's Messages interface


def create(client: anthropic.Anthropic, stream: bool, **request: Any) -> anthropic.types.Message:
    if stream:
        with client.messages.stream(**request) as events:
            return events.get_final_message()
    return client.messages.create(**request)


@pytest.mark.parametrize("stream", STREAM, ids=["json", "stream"])
def test_a_messages_tool_loop_on_bedrock_keeps_breakpoints_and_signed_thinking(
    gateway: str, anthropic_api: AnthropicStandIn, stream: bool
) -> None:
    client = anthropic.Anthropic(base_url=gateway, api_key=TENANT_KEY, max_retries=0)
    anthropic_api.turns = [
        [thinking("The file will say."), REDACTED, tool_use("Read", {"path": "a.txt"})],
        [thinking("It says hello."), text("Hello.")],
    ]
    request: dict[str, Any] = {
        "model": "claude-bedrock",
        "max_tokens": 2048,
        "thinking": {"type": "enabled", "budget_tokens": 500},
        "system": [{"type": "text", "text": "Terse.", "cache_control": CACHED}],
        "tools": [{"name": "Read", "input_schema": {"type": "object"}, "cache_control": CACHED}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Read", "cache_control": CACHED}]}
        ],
    }

    first = create(client, stream, **request)
    [thought, redacted, call] = first.content
    request["messages"] += [
        {"role": "assistant", "content": [block.model_dump() for block in first.content]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": call.id,  # type: ignore[union-attr]
                    "content": "hello",
                    "cache_control": CACHED,
                }
            ],
        },
    ]
    second = create(client, stream, **request)

    assert thought.signature == anthropic_api.sign("The file will say.")  # type: ignore[union-attr]
    assert redacted.type == "redacted_thinking"
    assert second.content[0].signature == anthropic_api.sign("It says hello.")  # type: ignore[union-attr]
    assert second.content[1].text == "Hello."  # type: ignore[union-attr]
    sent = anthropic_api.last.body
    assert sent["tools"] == request["tools"]  # as sent: not through chat's tool shape
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 500}
    assert sent["messages"][1]["content"][:2] == [
        thought.model_dump(),
        redacted.model_dump(),
    ]
    assert sorted(breakpoints(sent)) == [
        "messages[0].content[0]",
        "messages[2].content[0]",
        "system[0]",
        "tools[0]",
    ]


@pytest.mark.parametrize("stream", STREAM, ids=["json", "stream"])
def test_a_field_litellm_would_take_as_configuration_never_reaches_it(
    gateway: str,
    anthropic_api: AnthropicStandIn,
    caplog: pytest.LogCaptureFixture,
    stream: bool,
) -> None:
    """LiteLLM's Messages interface takes the request's fields and its own configuration
    as keyword arguments alike: `model_id` (the Bedrock model the request is sent to,
    whatever the route says) and `model_info` (a deployment's settings) are its
    configuration, and on no list of transport fields; as body fields they are left out,
    not given to it."""
    client = anthropic.Anthropic(base_url=gateway, api_key=TENANT_KEY, max_retries=0)
    planted = {"model_id": "anthropic.claude-opus-4-1-v1:0", "model_info": {"mode": "chat"}}
    with caplog.at_level(logging.INFO, logger="gateway"):
        answer = create(
            client,
            stream,
            model="claude-bedrock",
            max_tokens=64,
            messages=[{"role": "user", "content": "hi"}],
            extra_body=planted,
        )

    assert answer.content[-1].text == "Hello."  # type: ignore[union-attr]
    assert planted.keys().isdisjoint(anthropic_api.last.body)
    assert anthropic_api.last.path.startswith("/model/us.anthropic.claude-sonnet-4-5-v1:0/")
    left_out = [r.__dict__.get("left_out") for r in caplog.records if r.msg == "fields left out"]
    assert left_out == [sorted(planted)]


@pytest.mark.parametrize("field", ["api_base", "aws_bedrock_runtime_endpoint", "extra_headers"])
def test_a_transport_field_for_claude_on_bedrock_is_a_400(
    gateway: str, anthropic_api: AnthropicStandIn, field: str
) -> None:
    client = anthropic.Anthropic(base_url=gateway, api_key=TENANT_KEY, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(
            model="claude-bedrock",
            max_tokens=64,
            messages=[{"role": "user", "content": "hi"}],
            extra_body={field: "http://127.0.0.1:9/"},
        )

    assert raised.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert field in raised.value.message
    assert anthropic_api.received == []


def test_the_client_going_away_ends_the_bedrock_stream(
    gateway: str, anthropic_api: AnthropicStandIn
) -> None:
    """LiteLLM's Messages streams would read on after the client left, to bill the rest:
    here the upstream read ends with the client (at the provider's next event)."""
    anthropic_api.hold = True
    with httpx.stream(
        "POST",
        f"{gateway}/v1/messages",
        headers={"x-api-key": TENANT_KEY},
        json={
            "model": "claude-bedrock",
            "max_tokens": 10,
            "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
        },
        timeout=10,
    ) as response:
        first = next(response.iter_raw())
        assert first.startswith(b"event: message_start")
        left_at = time.monotonic()

    assert anthropic_api.last.gone.wait(5)
    assert time.monotonic() - left_at < 2
