"""Which fields of a request reach a provider, and how: the one place that decides.

A tenant is a stranger holding a key, and LiteLLM takes its configuration (endpoint,
credentials, headers, callbacks, mock answers) as keyword arguments beside the request's
own parameters. So only OpenAI's parameters (a chat completion's, an embedding's) become
parameters; any other
field travels as a JSON body field only (LiteLLM's `extra_body`), where it cannot change
where the request goes or how; and fields shaped like transport settings are refused
outright, so a client learns at once that the gateway will not honour them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.config import Allowances
from gateway.errors import InvalidRequest, NotAllowed

OPENAI_PARAMS = frozenset(
    {
        "messages",
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "metadata",
        "modalities",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
    }
)
"""OpenAI chat-completion parameters: passed on as parameters (LiteLLM maps them)."""

EMBEDDING_PARAMS = frozenset({"input", "dimensions", "encoding_format", "user"})
"""OpenAI embedding parameters, the same way."""

MESSAGES_FIELDS = frozenset(
    {
        "messages",
        "max_tokens",
        "system",
        "metadata",
        "stop_sequences",
        "temperature",
        "top_p",
        "top_k",
        "tools",
        "tool_choice",
        "thinking",
        "cache_control",
        "context_management",
        "output_config",
        "service_tier",
        "container",
        "mcp_servers",
    }
)
"""Anthropic Messages request fields that LiteLLM's native Messages interface reads as
its request's (it takes them as keyword arguments, beside its configuration): the only
body fields given to it. It drops any other, so the door leaves them out (and logs them)."""

GATEWAY_FIELDS = frozenset({"model", "stream", "stream_options"})
"""Set by the gateway itself for every provider."""

TRANSPORT_FIELDS = frozenset(
    {
        "acompletion",
        "additional_drop_params",
        "allowed_openai_params",
        "api_base",
        "api_key",
        "api_type",
        "api_version",
        "base_model",
        "base_url",
        "cache",
        "caching",
        "callbacks",
        "client",
        "context_window_fallback_dict",
        "custom_llm_provider",
        "deployment_id",
        "drop_params",
        "extra_body",
        "extra_headers",
        "extra_query",
        "fallbacks",
        "headers",
        "http_client",
        "input_cost_per_token",
        "logger_fn",
        "max_retries",
        "model_list",
        "num_retries",
        "organization",
        "output_cost_per_token",
        "project",
        "proxy_server_request",
        "request_timeout",
        "retry_policy",
        "ssl_verify",
        "stream_timeout",
        "timeout",
        "url",
    }
)
TRANSPORT_PREFIXES = ("litellm_", "mock_", "aws_", "azure_", "vertex_", "watsonx_")
TRANSPORT_SUFFIXES = ("_callback", "_callbacks", "_credentials", "_token_provider")


def is_transport_field(name: str) -> bool:
    lowered = name.lower()
    return (
        lowered in TRANSPORT_FIELDS
        or lowered.startswith(TRANSPORT_PREFIXES)
        or lowered.endswith(TRANSPORT_SUFFIXES)
    )


def transport_field_refused(name: str) -> InvalidRequest:
    """The 400 for a transport-shaped field, on every path."""
    return InvalidRequest(
        f"Unrecognized request argument supplied: {name}. The gateway decides where "
        "and how requests are sent; requests cannot set it.",
        param=name,
    )


@dataclass(frozen=True, slots=True)
class ProviderParams:
    """A request's fields as providers receive them."""

    params: dict[str, Any]
    """OpenAI parameters (`messages`, `temperature`, `tools`, ...)."""
    extra_body: dict[str, Any]
    """Every other field the client sent: body fields only, never configuration."""


def split_params(
    body: dict[str, Any], parameters: frozenset[str] = OPENAI_PARAMS
) -> ProviderParams:
    """Split a validated body of the operation whose OpenAI `parameters` these are (a chat
    completion's by default); a transport-shaped field is a 400 naming it."""
    params: dict[str, Any] = {}
    extra_body: dict[str, Any] = {}
    for name, value in body.items():
        if name in parameters:
            params[name] = value
        elif name in GATEWAY_FIELDS:
            continue
        elif is_transport_field(name):
            raise transport_field_refused(name)
        else:
            extra_body[name] = value
    return ProviderParams(params, extra_body)


PAID_TIERS = frozenset({"priority"})
"""Service tiers billed above the standard price."""


def check_allowances(allow: Allowances, params: ProviderParams) -> None:
    """Refuse what spends beyond tokens or reaches outside the request unless the route's
    `"allow"` option names it: on translated requests, both paths. `web_search_options`
    makes LiteLLM add Anthropic's paid `web_search` tool on its own and turns on OpenAI's
    search models' per-call billing; `mcp_servers` and `container` would travel to the
    provider as body fields; a priority tier is billed above the standard price."""
    if "web_search_options" in params.params and "web_search" not in allow.server_tools:
        raise NotAllowed(
            "The server tool 'web_search' is not allowed on this model.",
            param="web_search_options",
        )
    for feature in ("mcp_servers", "container"):
        if feature in params.extra_body and feature not in allow.features:
            raise NotAllowed(f"'{feature}' is not allowed on this model.", param=feature)
    tier = params.params.get("service_tier")
    if tier in PAID_TIERS and "service_tier" not in allow.features:
        raise NotAllowed(
            f"The service tier '{tier}' is not allowed on this model.", param="service_tier"
        )
