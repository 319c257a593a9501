"""The Messages door on `anthropic/...` routes: Anthropic's protocol end to end, with the
official `anthropic` SDK as the client and a strict stand-in for Anthropic's API behind
the gateway (tests/support/anthropic_standin.py)."""

from __future__ import annotations

import copy
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from gateway.config import Settings
from tests.integration.test_messages_claude_code import CLAUDE, run_claude
from tests.support import anthropic_standin as standin
from tests.support.anthropic_standin import AnthropicStandIn
from tests.support.gateway import PROVIDER_KEY, TENANT_KEY
from tests.support.servers import serve, serve_app

STREAM = [False, True]


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture(scope="module")
def anthropic_api() -> Iterator[AnthropicStandIn]:
    stand_in = AnthropicStandIn(PROVIDER_KEY)
    with serve_app(stand_in.app) as url:
        stand_in.url = url  # type: ignore[attr-defined]
        yield stand_in


@pytest.fixture(autouse=True)
def _fresh(anthropic_api: AnthropicStandIn) -> None:
    anthropic_api.reset()


def _route(url: str, **options: Any) -> dict[str, Any]:
    return {
        "model": "anthropic/claude-test-4",
        "api_base": url,
        "api_key_env": "ANTHROPIC_KEY",
        **options,
    }


@pytest.fixture(scope="module")
def gateway(anthropic_api: AnthropicStandIn) -> Iterator[str]:
    url: str = anthropic_api.url  # type: ignore[attr-defined]
    models = {
        "claude": _route(url),
        "claude-open": _route(
            url,
            allow={
                "server_tools": ["web_search"],
                "betas": ["files-api-2025-04-14"],
                "features": ["mcp_servers"],
            },
        ),
        "claude-down": _route(_closed_port_url(), fallback="claude"),
        "claude-down-to-chat": _route(_closed_port_url(), fallback="chat-on-standin"),
        # A chat-completions route: were the native request sent to it, the stand-in
        # (at its base URL) would answer it.
        "chat-on-standin": {"model": "openai/claude-test-4", "api_base": url},
        "echo": {"model": "echo"},
    }
    env = {
        "GATEWAY_API_KEYS": json.dumps({"acme": [TENANT_KEY]}),
        "GATEWAY_MODELS": json.dumps(models),
        "ANTHROPIC_KEY": PROVIDER_KEY,
    }
    with serve(Settings.from_env(env)) as gateway_url:
        yield gateway_url


@pytest.fixture
def client(gateway: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway, api_key=TENANT_KEY, max_retries=0)


def create(client: anthropic.Anthropic, stream: bool, **request: Any) -> anthropic.types.Message:
    """One message, streamed (and assembled by the SDK) or not."""
    if stream:
        with client.messages.stream(**request) as events:
            return events.get_final_message()
    return client.messages.create(**request)


CACHED_REQUEST: dict[str, Any] = {
    "model": "claude",
    "max_tokens": 2048,
    "system": [
        {"type": "text", "text": "You are terse."},
        {"type": "text", "text": "A long stable prompt.", "cache_control": {"type": "ephemeral"}},
    ],
    "tools": [
        {"name": "Read", "description": "Read a file", "input_schema": {"type": "object"}},
        {
            "name": "Grep",
            "description": "Search",
            "input_schema": {"type": "object"},
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
        },
    ],
    "messages": [
        {
            "role": "user",
            "content": [
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "notes"},
                    "cache_control": {"type": "ephemeral"},
                },
                {"type": "text", "text": "Summarise.", "cache_control": {"type": "ephemeral"}},
            ],
        }
    ],
    "thinking": {"type": "enabled", "budget_tokens": 500},
    "stop_sequences": ["END"],
    "metadata": {"user_id": "user-42"},
    "tool_choice": {"type": "auto"},
}


def cache_control_paths(value: Any, path: str = "") -> list[str]:
    if isinstance(value, dict):
        return [
            p
            for key, item in value.items()
            for p in (
                [path] if key == "cache_control" else cache_control_paths(item, f"{path}.{key}")
            )
        ]
    if isinstance(value, list):
        return [
            p for i, item in enumerate(value) for p in cache_control_paths(item, f"{path}[{i}]")
        ]
    return []


@pytest.mark.parametrize("stream", STREAM)
def test_the_body_reaches_the_provider_as_sent_but_for_the_model(
    client: anthropic.Anthropic, anthropic_api: AnthropicStandIn, stream: bool
) -> None:
    create(client, stream, **copy.deepcopy(CACHED_REQUEST))

    received = anthropic_api.last.body
    expected = {**CACHED_REQUEST, "model": "claude-test-4"} | ({"stream": True} if stream else {})
    assert received == expected
    assert sorted(cache_control_paths(received)) == [
        ".messages[0].content[0]",
        ".messages[0].content[1]",
        ".system[1]",
        ".tools[1]",
    ]
    assert received["thinking"]["budget_tokens"] == 500
    headers = anthropic_api.last.headers
    assert headers["x-api-key"] == PROVIDER_KEY
    assert headers["anthropic-version"] == "2023-06-01"


@pytest.mark.parametrize("stream", STREAM)
def test_cache_usage_reaches_the_client_unchanged_and_the_log_separately(
    client: anthropic.Anthropic,
    anthropic_api: AnthropicStandIn,
    caplog: pytest.LogCaptureFixture,
    stream: bool,
) -> None:
    first = create(client, stream, **copy.deepcopy(CACHED_REQUEST))
    with caplog.at_level(logging.INFO):
        second = create(client, stream, **copy.deepcopy(CACHED_REQUEST))

    assert first.usage.cache_creation_input_tokens == standin.CACHED_PREFIX_TOKENS
    assert first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.cache_read_input_tokens == standin.CACHED_PREFIX_TOKENS
    assert second.usage.input_tokens == standin.INPUT_TOKENS
    assert second.usage.output_tokens == standin.OUTPUT_TOKENS
    line = [r for r in caplog.records if r.getMessage() == "messages"][-1]
    assert line.input_tokens == standin.INPUT_TOKENS
    assert line.output_tokens == standin.OUTPUT_TOKENS
    assert line.cache_read_tokens == standin.CACHED_PREFIX_TOKENS
    assert line.cache_write_tokens == 0


@pytest.mark.parametrize("stream", STREAM)
def test_a_tool_loop_with_thinking_passes_the_providers_checks(
    client: anthropic.Anthropic, anthropic_api: AnthropicStandIn, stream: bool
) -> None:
    anthropic_api.turns = [
        [
            standin.thinking("The user wants the file: call Read."),
            standin.REDACTED,
            standin.tool_use("Read", {"path": "notes.txt"}),
        ],
        [standin.thinking("Now answer."), standin.text("It says hello.")],
    ]
    request: dict[str, Any] = {
        "model": "claude",
        "max_tokens": 4096,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "tools": [{"name": "Read", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "What does notes.txt say?"}],
    }

    first = create(client, stream, **request)
    assert first.stop_reason == "tool_use"
    [thought, redacted, call] = first.content
    assert thought.type == "thinking"
    assert thought.signature == anthropic_api.sign("The user wants the file: call Read.")
    assert redacted.type == "redacted_thinking"
    request["messages"] += [
        {"role": "assistant", "content": [block.model_dump() for block in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "hello"}],
        },
    ]
    second = create(client, stream, **request)

    assert [block.type for block in second.content] == ["thinking", "text"]
    assert second.content[1].text == "It says hello."  # type: ignore[union-attr]
    sent_back = anthropic_api.last.body["messages"][1]["content"]
    assert sent_back[0]["signature"] == thought.signature
    assert sent_back[1]["data"] == redacted.data  # type: ignore[union-attr]


def test_the_providers_refusal_of_a_turn_without_its_thinking_reaches_the_client(
    client: anthropic.Anthropic,
) -> None:
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(
            model="claude",
            max_tokens=4096,
            thinking={"type": "enabled", "budget_tokens": 2048},
            messages=[
                {"role": "user", "content": "Read notes.txt"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {}}],
                },
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}],
                },
            ],
        )

    assert raised.value.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "The provider rejected the request: messages.1.content.0.type: Expected "
            "`thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is "
            "enabled, an assistant message with tool use must start with a thinking block.",
        },
    }


def test_the_stream_reaches_the_client_byte_for_byte(
    gateway: str, anthropic_api: AnthropicStandIn
) -> None:
    with httpx.stream(
        "POST",
        f"{gateway}/v1/messages",
        headers={"x-api-key": TENANT_KEY, "anthropic-version": "2023-06-01"},
        json={**CACHED_REQUEST, "stream": True},
    ) as response:
        received = response.read()

    assert response.status_code == 200
    assert received == bytes(anthropic_api.last.sent)
    assert b"event: ping" in received
    assert b'"signature_delta"' in received


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("field", ["api_base", "extra_headers", "timeout", "litellm_logging"])
def test_a_transport_shaped_field_is_refused_in_anthropics_shape(
    client: anthropic.Anthropic, anthropic_api: AnthropicStandIn, stream: bool, field: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as raised:
        create(
            client,
            stream,
            model="claude",
            max_tokens=10,
            messages=[{"role": "user", "content": "hi"}],
            extra_body={field: "http://attacker.example"},
        )

    assert raised.value.status_code == 400
    assert raised.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert field in raised.value.body["error"]["message"]  # type: ignore[index]
    assert anthropic_api.received == []


SERVER_TOOL = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
REFUSED_BY_DEFAULT = [
    ("web_search", {"tools": [SERVER_TOOL]}),
    ("code_execution", {"tools": [{"type": "code_execution_20250825", "name": "code_execution"}]}),
    (
        "mcp_servers",
        {
            "extra_body": {
                "mcp_servers": [{"type": "url", "url": "https://mcp.example", "name": "x"}]
            }
        },
    ),
    ("container", {"container": "container_123"}),
    ("service_tier", {"service_tier": "auto"}),
    (
        "files",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "document", "source": {"type": "file", "file_id": "file_1"}}
                    ],
                }
            ]
        },
    ),
]


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize(
    ("name", "fields"), REFUSED_BY_DEFAULT, ids=[n for n, _ in REFUSED_BY_DEFAULT]
)
def test_what_spends_beyond_tokens_is_refused_unless_the_route_allows_it(
    client: anthropic.Anthropic,
    anthropic_api: AnthropicStandIn,
    stream: bool,
    name: str,
    fields: dict[str, Any],
) -> None:
    request = {"model": "claude", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}

    with pytest.raises(anthropic.PermissionDeniedError) as raised:
        create(client, stream, **{**request, **fields})

    assert raised.value.body == {
        "type": "error",
        "error": {"type": "permission_error", "message": f"'{name}' is not allowed on this model."}
        if name in ("mcp_servers", "container", "service_tier", "files")
        else {
            "type": "permission_error",
            "message": f"The server tool '{name}' is not allowed on this model.",
        },
    }
    assert anthropic_api.received == []


def test_a_route_passes_the_server_tools_features_and_betas_it_allows(
    client: anthropic.Anthropic, anthropic_api: AnthropicStandIn
) -> None:
    client.messages.create(
        model="claude-open",
        max_tokens=10,
        messages=[{"role": "user", "content": "hi"}],
        tools=[SERVER_TOOL],  # type: ignore[list-item]
        extra_body={"mcp_servers": [{"type": "url", "url": "https://mcp.example", "name": "x"}]},
        extra_headers={
            "anthropic-beta": "files-api-2025-04-14, interleaved-thinking-2025-05-14, "
            "oauth-2025-04-20",
        },
    )

    received = anthropic_api.last
    assert received.body["tools"] == [SERVER_TOOL]
    assert received.body["mcp_servers"][0]["url"] == "https://mcp.example"
    assert received.headers["anthropic-beta"] == (
        "files-api-2025-04-14,interleaved-thinking-2025-05-14"
    )


def test_betas_the_route_does_not_allow_are_left_out(
    client: anthropic.Anthropic, anthropic_api: AnthropicStandIn
) -> None:
    client.messages.create(
        model="claude",
        max_tokens=10,
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"anthropic-beta": "files-api-2025-04-14,oauth-2025-04-20"},
    )

    assert "anthropic-beta" not in anthropic_api.last.headers


@pytest.mark.parametrize("stream", STREAM)
def test_a_failing_route_falls_back_to_another_anthropic_route(
    client: anthropic.Anthropic, anthropic_api: AnthropicStandIn, stream: bool
) -> None:
    message = create(
        client,
        stream,
        model="claude-down",
        max_tokens=10,
        messages=[{"role": "user", "content": "hi"}],
    )

    assert message.content[-1].text == "Hello."  # type: ignore[union-attr]
    assert anthropic_api.last.body["model"] == "claude-test-4"


def test_a_fallback_in_another_protocol_is_not_tried(
    client: anthropic.Anthropic, anthropic_api: AnthropicStandIn
) -> None:
    with pytest.raises(anthropic.APIStatusError) as raised:
        client.messages.create(
            model="claude-down-to-chat", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )

    assert raised.value.status_code == 502
    assert raised.value.body == {
        "type": "error",
        "error": {"type": "api_error", "message": "The provider could not be reached."},
    }
    assert anthropic_api.received == []


def test_provider_error_text_is_redacted(
    client: anthropic.Anthropic, anthropic_api: AnthropicStandIn
) -> None:
    anthropic_api.fail = (400, "invalid_request_error", f"bad key {PROVIDER_KEY} in request")

    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(
            model="claude", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )

    assert PROVIDER_KEY not in str(raised.value.body)
    assert "bad key" in raised.value.body["error"]["message"]  # type: ignore[index]


def test_the_client_going_away_cancels_the_upstream(
    gateway: str, anthropic_api: AnthropicStandIn
) -> None:
    anthropic_api.hold = True
    with httpx.stream(
        "POST",
        f"{gateway}/v1/messages",
        headers={"x-api-key": TENANT_KEY},
        json={
            "model": "claude",
            "max_tokens": 10,
            "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
        },
    ) as response:
        first = next(response.iter_raw())
        assert first.startswith(b"event: message_start")
        left_at = time.monotonic()

    assert anthropic_api.last.gone.wait(5)
    assert time.monotonic() - left_at < 2


def test_non_anthropic_routes_keep_the_translation(
    client: anthropic.Anthropic, anthropic_api: AnthropicStandIn
) -> None:
    message = client.messages.create(
        model="echo", max_tokens=10, messages=[{"role": "user", "content": "hello there"}]
    )

    assert message.content[0].text.endswith("hello there")  # type: ignore[union-attr]
    assert anthropic_api.received == []


@pytest.mark.skipif(not CLAUDE.exists(), reason="Claude Code is not installed: run `npm ci`")
def test_claude_code_keeps_its_cache_breakpoints_and_thinking_through_the_gateway(
    gateway: str,
    anthropic_api: AnthropicStandIn,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    notes = work / "notes.txt"
    notes.write_text("The secret word is pineapple.\n")
    anthropic_api.turns = [
        [
            standin.thinking("Read the notes."),
            standin.tool_use("Read", {"file_path": str(notes)}),
        ],
        [standin.thinking("Found it."), standin.text("The word is pineapple.")],
    ]

    printed = run_claude(gateway, "claude", "What is the secret word in notes.txt?", work, home)

    assert printed.strip() == "The word is pineapple."
    first, second = [r for r in anthropic_api.received if r.body.get("tools")][-2:]
    assert cache_control_paths(first.body)
    assert "context-management" in first.headers["anthropic-beta"]
    assert "context_management" in first.body
    assert [r for r in caplog.records if r.getMessage() == "fields left out"] == []
    assert len(cache_control_paths(second.body)) >= len(cache_control_paths(first.body))
    assistant = second.body["messages"][-2]
    assert assistant["content"][0]["signature"] == anthropic_api.sign("Read the notes.")
