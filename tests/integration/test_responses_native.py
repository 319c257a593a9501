"""The Responses door on routes with `responses_api`: OpenAI's Responses protocol end to
end, with the official `openai` SDK as the client and a strict stand-in for OpenAI's
Responses API behind the gateway (tests/support/responses_standin.py)."""

from __future__ import annotations

import copy
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import Response

from gateway.config import Settings
from tests.integration.test_responses_codex import CODEX, codex
from tests.support import responses_standin as standin
from tests.support.gateway import OTHER_TENANT_KEY, PROVIDER_KEY, TENANT_KEY
from tests.support.responses_standin import ResponsesStandIn
from tests.support.servers import serve, serve_app

STREAM = [False, True]
AUTH = {"authorization": f"Bearer {TENANT_KEY}"}


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture(scope="module")
def responses_api() -> Iterator[ResponsesStandIn]:
    stand_in = ResponsesStandIn(PROVIDER_KEY)
    with serve_app(stand_in.app) as url:
        stand_in.url = url  # type: ignore[attr-defined]
        yield stand_in


@pytest.fixture(autouse=True)
def _fresh(responses_api: ResponsesStandIn) -> None:
    responses_api.reset()


def _route(url: str, **options: Any) -> dict[str, Any]:
    return {
        "model": "openai/standin-model",
        "api_base": url,
        "api_key_env": "OPENAI_KEY",
        "responses_api": True,
        **options,
    }


@pytest.fixture(scope="module")
def gateway(responses_api: ResponsesStandIn) -> Iterator[str]:
    url: str = responses_api.url  # type: ignore[attr-defined]
    models = {
        "gpt": _route(url),
        "gpt-open": _route(
            url,
            allow={
                "server_tools": ["web_search", "code_interpreter"],
                "features": ["conversation", "files"],
            },
        ),
        "gpt-down": _route(_closed_port_url(), fallback="gpt"),
        "gpt-down-to-chat": _route(_closed_port_url(), fallback="chat-on-standin"),
        # A chat-completions route: were the native request sent to it, the stand-in
        # (at its base URL) would not know `/chat/completions`.
        "chat-on-standin": {"model": "openai/standin-model", "api_base": url},
        "echo": {"model": "echo"},
    }
    env = {
        "GATEWAY_API_KEYS": json.dumps({"acme": [TENANT_KEY], "globex": [OTHER_TENANT_KEY]}),
        "GATEWAY_MODELS": json.dumps(models),
        "GATEWAY_RESPONSES_STORE_URL": "memory://",
        "OPENAI_KEY": PROVIDER_KEY,
    }
    with serve(Settings.from_env(env)) as gateway_url:
        yield gateway_url


@pytest.fixture
def client(gateway: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway}/v1", api_key=TENANT_KEY, max_retries=0)


def create(client: openai.OpenAI, stream: bool, **request: Any) -> Response:
    """One response, streamed (the one in its closing event) or not."""
    if not stream:
        return client.responses.create(**request)
    final = None
    for event in client.responses.create(stream=True, **request):
        if event.type in ("response.completed", "response.incomplete"):
            final = event.response
    assert final is not None
    return final


SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
CODEX_LIKE: dict[str, Any] = {
    "model": "gpt",
    "instructions": "You are a coding agent.",
    "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}
    ],
    "tools": [{"type": "function", "name": "shell", "parameters": {"type": "object"}}],
    "tool_choice": "auto",
    "parallel_tool_calls": False,
    "reasoning": {"effort": "medium", "summary": "auto"},
    "store": False,
    "include": ["reasoning.encrypted_content"],
    "prompt_cache_key": "conversation-7f3a",
    "text": {
        "format": {"type": "json_schema", "name": "city", "schema": SCHEMA, "strict": True},
        "verbosity": "low",
    },
    "max_output_tokens": 4000,
}


@pytest.mark.parametrize("stream", STREAM)
def test_the_body_reaches_the_provider_as_sent_but_for_the_model(
    client: openai.OpenAI, responses_api: ResponsesStandIn, stream: bool
) -> None:
    response = create(client, stream, **copy.deepcopy(CODEX_LIKE))

    received = responses_api.last.body
    expected = {**CODEX_LIKE, "model": "standin-model"} | ({"stream": True} if stream else {})
    assert received == expected
    assert responses_api.last.headers["authorization"] == f"Bearer {PROVIDER_KEY}"
    [thought, answer] = response.output
    assert thought.type == "reasoning"
    assert thought.encrypted_content == responses_api.encrypt(thought.id)
    assert thought.summary[0].text == "Thinking."
    assert answer.type == "message"
    assert response.model == "standin-model"  # the provider's response, as it sent it


@pytest.mark.parametrize("stream", STREAM)
def test_reasoning_items_round_trip_without_provider_state(
    client: openai.OpenAI, responses_api: ResponsesStandIn, stream: bool
) -> None:
    responses_api.turns = [
        [standin.reasoning("Run a command."), standin.function_call("shell", {"cmd": "ls"})],
        [standin.reasoning("Done."), standin.message("Two files.")],
    ]
    request = copy.deepcopy(CODEX_LIKE)
    del request["text"]

    first = create(client, stream, **request)
    thought, call = first.output
    assert call.type == "function_call"
    request["input"] += [item.model_dump(exclude_none=True) for item in first.output]
    request["input"].append(
        {"type": "function_call_output", "call_id": call.call_id, "output": "a.txt b.txt"}
    )
    second = create(client, stream, **request)

    assert second.output_text == "Two files."
    sent_back = responses_api.last.body["input"][1]
    assert sent_back["type"] == "reasoning"
    assert sent_back["encrypted_content"] == thought.encrypted_content  # type: ignore[union-attr]


def test_an_altered_reasoning_item_is_the_providers_to_refuse(
    client: openai.OpenAI, responses_api: ResponsesStandIn
) -> None:
    forged = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAforged"}

    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="gpt", store=False, input=[forged])  # type: ignore[list-item]

    assert "could not be verified" in raised.value.message


@pytest.mark.parametrize("stream", STREAM)
def test_cached_tokens_reach_the_client_unchanged_and_the_log_separately(
    client: openai.OpenAI,
    responses_api: ResponsesStandIn,
    caplog: pytest.LogCaptureFixture,
    stream: bool,
) -> None:
    first = create(client, stream, **copy.deepcopy(CODEX_LIKE))
    with caplog.at_level(logging.INFO):
        second = create(client, stream, **copy.deepcopy(CODEX_LIKE))

    assert first.usage is not None
    assert second.usage is not None
    assert first.usage.input_tokens_details.cached_tokens == 0
    assert second.usage.input_tokens_details.cached_tokens == standin.CACHED_PREFIX_TOKENS
    assert second.usage.input_tokens == standin.INPUT_TOKENS + standin.CACHED_PREFIX_TOKENS
    assert second.usage.output_tokens_details.reasoning_tokens == standin.REASONING_TOKENS
    line = [r for r in caplog.records if r.getMessage() == "responses"][-1]
    assert line.input_tokens == standin.INPUT_TOKENS
    assert line.cache_read_tokens == standin.CACHED_PREFIX_TOKENS
    assert line.cache_write_tokens == 0
    assert line.output_tokens == standin.OUTPUT_TOKENS
    assert line.reasoning_tokens == standin.REASONING_TOKENS


def test_the_stream_reaches_the_client_byte_for_byte(
    gateway: str, responses_api: ResponsesStandIn
) -> None:
    with httpx.stream(
        "POST", f"{gateway}/v1/responses", headers=AUTH, json={**CODEX_LIKE, "stream": True}
    ) as response:
        received = response.read()

    assert response.status_code == 200
    assert received == bytes(responses_api.last.sent)
    assert b"event: response.reasoning_summary_text.delta" in received
    assert b"event: response.completed" in received


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("field", ["api_base", "extra_headers", "timeout", "litellm_logging"])
def test_a_transport_shaped_field_is_refused_in_openais_shape(
    client: openai.OpenAI, responses_api: ResponsesStandIn, stream: bool, field: str
) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        create(client, stream, model="gpt", input="hi", extra_body={field: "http://x.example"})

    assert raised.value.status_code == 400
    assert raised.value.body == {
        "message": f"Unrecognized request argument supplied: {field}. The gateway decides "
        "where and how requests are sent; requests cannot set it.",
        "type": "invalid_request_error",
        "param": field,
        "code": "invalid_request",
    }
    assert responses_api.received == []


FILE_INPUT = [
    {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_file", "file_id": "file-123"}],
    }
]
CODE_INTERPRETER = {"type": "code_interpreter", "container": {"type": "auto"}}
MCP = {"type": "mcp", "server_label": "x", "server_url": "https://mcp.example"}
HOSTED_SHELL = {"type": "shell", "environment": {"type": "container_auto"}}
REFUSED_BY_DEFAULT = [
    ("code_interpreter", "tools[0].type", {"tools": [CODE_INTERPRETER]}),
    ("file_search", "tools[0].type", {"tools": [{"type": "file_search", "vector_store_ids": []}]}),
    ("mcp", "tools[0].type", {"tools": [MCP]}),
    ("image_generation", "tools[0].type", {"tools": [{"type": "image_generation"}]}),
    ("container", "container", {"tools": [HOSTED_SHELL]}),
    ("background", "background", {"background": True}),
    ("service_tier", "service_tier", {"service_tier": "priority"}),
    ("conversation", "conversation", {"conversation": "conv_123"}),
    ("conversation", "conversation", {"input": [{"type": "item_reference", "id": "msg_1"}]}),
    ("prompt", "prompt", {"prompt": {"id": "pmpt_1"}}),
    ("files", "files", {"input": FILE_INPUT}),
]


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize(
    ("name", "param", "fields"), REFUSED_BY_DEFAULT, ids=[str(f) for _, _, f in REFUSED_BY_DEFAULT]
)
def test_what_spends_beyond_tokens_is_refused_unless_the_route_allows_it(
    client: openai.OpenAI,
    responses_api: ResponsesStandIn,
    stream: bool,
    name: str,
    param: str,
    fields: dict[str, Any],
) -> None:
    with pytest.raises(openai.PermissionDeniedError) as raised:
        create(client, stream, **{"model": "gpt", "input": "hi", **fields})

    message = (
        f"The server tool '{name}' is not allowed on this model."
        if param.startswith("tools")
        else f"'{name}' is not allowed on this model."
    )
    assert raised.value.body == {
        "message": message,
        "type": "invalid_request_error",
        "param": param,
        "code": "not_allowed_on_route",
    }
    assert responses_api.received == []


def test_a_route_passes_the_hosted_tools_and_features_it_allows(
    client: openai.OpenAI, responses_api: ResponsesStandIn
) -> None:
    tools = [{"type": "web_search_preview_2025_03_11"}, CODE_INTERPRETER]
    client.responses.create(
        model="gpt-open",
        input=FILE_INPUT,  # type: ignore[arg-type]
        tools=tools,  # type: ignore[arg-type]
    )

    assert responses_api.last.body["tools"] == tools
    assert responses_api.last.body["input"] == FILE_INPUT


def test_web_search_is_left_out_where_the_route_does_not_allow_it(
    client: openai.OpenAI, responses_api: ResponsesStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    function = {"type": "function", "name": "shell", "parameters": {"type": "object"}}
    with caplog.at_level(logging.INFO):
        client.responses.create(
            model="gpt",
            input="hi",
            tools=[{"type": "web_search", "external_web_access": False}, function],  # type: ignore[list-item]
        )

    assert responses_api.last.body["tools"] == [function]
    [line] = [r for r in caplog.records if r.getMessage() == "fields left out"]
    assert line.left_out == ["tools[0]: web_search"]


@pytest.mark.parametrize("stream", STREAM)
def test_a_tenant_chains_only_onto_its_own_stored_responses(
    gateway: str, client: openai.OpenAI, responses_api: ResponsesStandIn, stream: bool
) -> None:
    first = create(client, stream, model="gpt", input="Remember 7.")
    assert responses_api.stored(first.id)

    follow_up = create(
        client, stream, model="gpt", input="What number?", previous_response_id=first.id
    )
    assert responses_api.last.body["previous_response_id"] == first.id
    assert follow_up.previous_response_id == first.id

    other = openai.OpenAI(base_url=f"{gateway}/v1", api_key=OTHER_TENANT_KEY, max_retries=0)
    asked = len(responses_api.received)
    with pytest.raises(openai.BadRequestError) as raised:
        create(other, stream, model="gpt", input="What number?", previous_response_id=first.id)

    assert raised.value.body == {
        "message": f"Previous response with id '{first.id}' not found.",
        "type": "invalid_request_error",
        "param": "previous_response_id",
        "code": "previous_response_not_found",
    }
    assert len(responses_api.received) == asked


def test_a_response_the_provider_does_not_store_cannot_be_chained_onto(
    client: openai.OpenAI, responses_api: ResponsesStandIn
) -> None:
    first = client.responses.create(model="gpt", input="hi", store=False)

    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="gpt", input="again", previous_response_id=first.id)

    assert raised.value.code == "previous_response_not_found"
    assert len(responses_api.received) == 1


@pytest.mark.parametrize("stream", STREAM)
def test_a_failing_route_falls_back_to_another_responses_route(
    client: openai.OpenAI, responses_api: ResponsesStandIn, stream: bool
) -> None:
    response = create(client, stream, model="gpt-down", input="hi")

    assert response.output_text == "Hello."
    assert responses_api.last.body["model"] == "standin-model"


def test_a_fallback_in_another_protocol_is_not_tried(
    client: openai.OpenAI, responses_api: ResponsesStandIn
) -> None:
    with pytest.raises(openai.APIStatusError) as raised:
        client.responses.create(model="gpt-down-to-chat", input="hi")

    assert raised.value.status_code == 502
    assert raised.value.body == {
        "message": "The provider could not be reached.",
        "type": "api_error",
        "param": None,
        "code": "upstream_error",
    }
    assert responses_api.received == []


def test_provider_error_text_is_redacted(
    client: openai.OpenAI, responses_api: ResponsesStandIn
) -> None:
    responses_api.fail = (400, f"bad key {PROVIDER_KEY} in request")

    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="gpt", input="hi")

    assert PROVIDER_KEY not in str(raised.value.body)
    assert "bad key" in raised.value.message


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("context_length_exceeded", "context_length_exceeded"),  # Codex acts on it
        ("Bad code with text", "server_error"),
    ],
)
def test_a_failure_in_the_stream_ends_it_with_a_redacted_response_failed(
    gateway: str, responses_api: ResponsesStandIn, code: str, shown: str
) -> None:
    responses_api.fail_in_stream = (code, f"overloaded, key {PROVIDER_KEY}")

    with httpx.stream(
        "POST",
        f"{gateway}/v1/responses",
        headers=AUTH,
        json={"model": "gpt", "input": "hi", "stream": True},
    ) as response:
        received = response.read()

    created, failed = [e for e in received.split(b"\n\n") if e.startswith(b"event:")]
    assert created.startswith(b"event: response.created\n")
    kind, data = failed.split(b"\n", 1)
    assert kind == b"event: response.failed"
    event = json.loads(data.removeprefix(b"data: "))
    assert PROVIDER_KEY not in data.decode()
    assert event["sequence_number"] == 1
    assert event["response"]["id"] == json.loads(created.split(b"data: ", 1)[1])["response"]["id"]
    assert event["response"]["status"] == "failed"
    assert event["response"]["error"] == {
        "code": shown,
        "message": "The provider reported an error: overloaded, key [redacted]",
    }


def test_the_client_going_away_cancels_the_upstream(
    gateway: str, responses_api: ResponsesStandIn
) -> None:
    responses_api.hold = True
    with httpx.stream(
        "POST",
        f"{gateway}/v1/responses",
        headers=AUTH,
        json={"model": "gpt", "input": "hi", "stream": True},
    ) as response:
        first = next(response.iter_raw())
        assert first.startswith(b"event: response.created")
        left_at = time.monotonic()

    assert responses_api.last.gone.wait(5)
    assert time.monotonic() - left_at < 2


def test_routes_without_the_responses_api_keep_the_translation(
    client: openai.OpenAI, responses_api: ResponsesStandIn
) -> None:
    response = client.responses.create(model="echo", input="hello there")

    assert response.output_text.endswith("hello there")
    assert response.id.startswith("resp_")
    assert responses_api.received == []


@pytest.mark.skipif(not CODEX.exists(), reason="Codex CLI not installed: run `npm ci`")
def test_codex_keeps_its_reasoning_and_cache_key_through_the_gateway(
    gateway: str, responses_api: ResponsesStandIn, tmp_path: Path
) -> None:
    command = {"cmd": "echo gateway-tool-ok"}
    responses_api.turns = [
        [standin.reasoning("Run it."), standin.function_call("exec_command", command)],
        [standin.reasoning("It ran."), standin.message("Ran it")],
    ]

    done = codex(gateway, tmp_path, "gpt")

    assert done.returncode == 0, done.stderr
    assert done.stdout == "Ran it\n"
    first, second = responses_api.received
    assert first.body["include"] == ["reasoning.encrypted_content"]
    assert first.body["store"] is False
    assert first.body["prompt_cache_key"] == second.body["prompt_cache_key"]
    [reasoning] = [item for item in second.body["input"] if item["type"] == "reasoning"]
    assert reasoning["encrypted_content"] == responses_api.encrypt(reasoning["id"])
    [output] = [item for item in second.body["input"] if item["type"] == "function_call_output"]
    assert "gateway-tool-ok" in json.dumps(output)
    assert b'"cached_tokens": %d' % standin.CACHED_PREFIX_TOKENS in second.sent
