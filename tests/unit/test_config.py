"""Settings from the environment: valid forms, and errors that never echo values."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from gateway.config import Secret, Settings, key_digest
from gateway.errors import ConfigurationError
from gateway.tenants import KeyStore


def test_defaults_serve_the_echo_model_and_refuse_every_key() -> None:
    settings = Settings.from_env({})

    assert list(settings.models) == ["echo"]
    assert settings.models["echo"].provider == "echo"
    assert settings.tenants == ()
    assert settings.keepalive_seconds == 15.0


def test_plain_and_digest_keys_authenticate_the_same_tenant() -> None:
    digest = hashlib.sha256(b"sk-two").hexdigest()
    settings = Settings.from_env(
        {
            "GATEWAY_API_KEYS": json.dumps(
                {"t": {"keys": ["sk-one", f"sha256:{digest}"], "models": ["echo"]}}
            )
        }
    )
    keys = KeyStore(settings.tenants)

    assert keys.authenticate("Bearer sk-one").tenant_id == "t"
    assert keys.authenticate("bearer sk-two").tenant_id == "t"
    assert settings.tenants[0].key_digests == (key_digest("sk-one"), bytes.fromhex(digest))
    assert settings.tenants[0].allowed_models == frozenset({"echo"})


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("openai/gpt-4o-mini", "openai-compatible"),
        ("anthropic/claude-sonnet-4-5", "litellm"),
        ("echo", "echo"),
    ],
)
def test_provider_is_chosen_from_the_model_string(model: str, provider: str) -> None:
    settings = Settings.from_env({"GATEWAY_MODELS": json.dumps({"m": {"model": model}})})
    assert settings.models["m"].provider == provider


@pytest.mark.parametrize(
    ("model", "provider", "protocol"),
    [
        ("anthropic/claude-sonnet-4-5", None, "messages"),
        ("anthropic/claude-sonnet-4-5", "openai-compatible", None),
        ("bedrock/anthropic.claude-sonnet-4-5", None, "messages"),
        ("bedrock/invoke/us.anthropic.claude-sonnet-4-5-v1:0", None, "messages"),
        ("bedrock/amazon.nova-pro-v1:0", None, None),
        ("vertex_ai/claude-sonnet-4-5", None, None),
        ("openai/gpt-4o-mini", None, None),
    ],
)
def test_anthropic_routes_speak_the_messages_protocol_natively(
    model: str, provider: str | None, protocol: str | None
) -> None:
    entry = {"model": model, "api_base": "http://x"} | ({"provider": provider} if provider else {})
    settings = Settings.from_env({"GATEWAY_MODELS": json.dumps({"m": entry})})

    assert settings.models["m"].native_protocol == protocol


@pytest.mark.parametrize(
    ("entry", "protocol"),
    [
        ({"model": "openai/gpt-5"}, "responses"),
        ({"model": "openai/gpt-5", "api_base": "https://api.openai.com/v1/"}, "responses"),
        ({"model": "openai/gpt-5", "responses_api": False}, None),
        ({"model": "openai/gpt-5", "api_base": "http://vllm:8000/v1"}, None),
        (
            {"model": "openai/m", "api_base": "http://vllm:8000/v1", "responses_api": True},
            "responses",
        ),
        ({"model": "m", "provider": "openai-compatible", "api_base": "http://x"}, None),
        ({"model": "openai/m", "provider": "litellm", "responses_api": True}, "responses"),
    ],
)
def test_openai_routes_speak_the_responses_protocol_natively_where_it_is_served(
    entry: dict[str, Any], protocol: str | None
) -> None:
    settings = Settings.from_env({"GATEWAY_MODELS": json.dumps({"m": entry})})

    assert settings.models["m"].native_protocol == protocol


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"model": "openai/m", "responses_api": "yes"}, "responses_api must be true or false"),
        (
            {"model": "bedrock/m", "responses_api": True},
            "responses_api needs an OpenAI-compatible route",
        ),
    ],
)
def test_the_responses_api_option_is_checked_at_start(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env({"GATEWAY_MODELS": json.dumps({"m": entry})})


def test_a_routes_allowances_are_read_from_its_allow_option() -> None:
    allow = {
        "server_tools": ["web_search"],
        "betas": ["files-api-2025-04-14"],
        "features": ["files"],
    }
    models = {"open": {"model": "anthropic/x", "allow": allow}, "closed": {"model": "anthropic/x"}}
    settings = Settings.from_env({"GATEWAY_MODELS": json.dumps(models)})

    opened, closed = settings.models["open"].allow, settings.models["closed"].allow
    assert opened.server_tools == {"web_search"}
    assert opened.betas == {"files-api-2025-04-14"}
    assert opened.features == {"files"}
    assert (closed.server_tools, closed.betas, closed.features) == (set(), set(), set())


def test_provider_keys_come_from_the_named_variable_and_never_print() -> None:
    settings = Settings.from_env(
        {
            "GATEWAY_MODELS": json.dumps({"m": {"model": "openai/x", "api_key_env": "K"}}),
            "K": "sk-very-secret",
        }
    )
    route = settings.models["m"]

    assert isinstance(route.api_key, Secret)
    assert route.api_key.reveal() == "sk-very-secret"
    assert "sk-very-secret" not in repr(settings)
    assert route.upstream_model == "x"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GATEWAY_API_KEYS": "{not json sk-leak"}, "GATEWAY_API_KEYS is not valid JSON"),
        ({"GATEWAY_API_KEYS": '["sk-leak"]'}, "must be a JSON object"),
        ({"GATEWAY_API_KEYS": '{"t": []}'}, "needs a key list"),
        ({"GATEWAY_API_KEYS": '{"t": ["sha256:abc"]}'}, "64 hex digits"),
        ({"GATEWAY_API_KEYS": '{"t": {"keys": ["sk-leak"], "models": "echo"}}'}, "list of names"),
        ({"GATEWAY_MODELS": '{"m": {}}'}, 'needs a "model" string'),
        ({"GATEWAY_MODELS": '{"m": {"model": "x", "provider": "magic"}}'}, "expected one of"),
        (
            {"GATEWAY_MODELS": '{"m": {"model": "openai/x", "api_key_env": "NOPE"}}'},
            "which is not set",
        ),
        (
            {"GATEWAY_MODELS": '{"m": {"model": "x", "provider": "openai-compatible"}}'},
            "needs an api_base",
        ),
        (
            {"GATEWAY_MODELS": '{"m": {"model": "anthropic/x", "allow": ["sk-leak"]}}'},
            "allow must be an object of server_tools, betas, features",
        ),
        (
            {"GATEWAY_MODELS": '{"m": {"model": "anthropic/x", "allow": {"sk-leak": []}}}'},
            "allow must be an object",
        ),
        (
            {"GATEWAY_MODELS": '{"m": {"model": "x", "allow": {"betas": "sk-leak"}}}'},
            "allow.betas must be a list of names",
        ),
        (
            {"GATEWAY_MODELS": '{"m": {"model": "x", "allow": {"features": ["sk-leak"]}}}'},
            "allow.features may hold only background, container, conversation, files, mcp_servers, "
            "prompt, service_tier",
        ),
        ({"GATEWAY_KEEPALIVE_SECONDS": "soon"}, "must be a number"),
        ({"GATEWAY_KEEPALIVE_SECONDS": "0"}, "greater than 0"),
        ({"GATEWAY_MAX_BODY_BYTES": "-5"}, "at least 0"),
    ],
)
def test_invalid_configuration_fails_at_start_without_echoing_values(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        Settings.from_env(env)
    assert "sk-leak" not in str(raised.value)
