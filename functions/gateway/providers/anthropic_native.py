"""Anthropic's Messages API on the direct path (`native_direct`): the key goes in
`x-api-key` and the API version in `anthropic-version`, both set here from the route;
pings are passed on with every other event; an `error` event ends the stream with the
gateway's own error, its message redacted."""

from __future__ import annotations

from gateway.config import ModelRoute
from gateway.providers.direct import error_message
from gateway.providers.native_direct import NativeProtocolSpec

ANTHROPIC_API_BASE = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"


def messages_url(api_base: str | None) -> str:
    """`<api_base>/v1/messages`; a base that already ends in `/v1` or `/v1/messages`
    (as some Anthropic-compatible providers document it) is taken as it is."""
    base = (api_base or ANTHROPIC_API_BASE).rstrip("/")
    return base if base.endswith("/v1/messages") else base.removesuffix("/v1") + "/v1/messages"


def _model(route: ModelRoute) -> str:
    return route.model.removeprefix("anthropic/")


def _auth(key: str) -> dict[str, str]:
    return {"x-api-key": key}


def _failure(data: bytes) -> tuple[str, None]:
    return error_message(data), None


ANTHROPIC_MESSAGES = NativeProtocolSpec(
    protocol="messages",
    url=messages_url,
    model=_model,
    auth=_auth,
    fixed_headers={"anthropic-version": ANTHROPIC_VERSION},
    stops=(b"event: message_stop",),
    failures=(b"event: error",),
    failure=_failure,
)
