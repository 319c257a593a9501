"""OpenAI's Responses API on the direct path (`native_direct`): `POST <api_base>/responses`
(the chat path's base URL rule: `https://api.openai.com/v1` by default) with the route's
key as a bearer token. The stream is complete after `response.completed` or
`response.incomplete`; `response.failed` and `error` events end it with the gateway's
own error, the provider's message redacted and its error code kept."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.config import ModelRoute
from gateway.providers.native_direct import NativeProtocolSpec, error_code
from gateway.providers.openai_compatible import OPENAI_API_BASE


def responses_url(api_base: str | None) -> str:
    return (api_base or OPENAI_API_BASE).rstrip("/") + "/responses"


def _model(route: ModelRoute) -> str:
    return route.upstream_model


def _auth(key: str) -> dict[str, str]:
    return {"authorization": "Bearer " + key}


def failure(data: bytes) -> tuple[str, str | None]:
    """The message and code of an `error` event (`{"type": "error", "code", "message"}`)
    or of a `response.failed` one (`{"response": {"error": {"code", "message"}}}`)."""
    try:
        event: Any = orjson.loads(data)
    except orjson.JSONDecodeError:
        return "", None
    if not isinstance(event, dict):
        return "", None
    response = event.get("response")
    error = response.get("error") if isinstance(response, dict) else event
    if not isinstance(error, dict):
        return "", None
    message = error.get("message")
    return (message if isinstance(message, str) else ""), error_code(error.get("code"))


OPENAI_RESPONSES = NativeProtocolSpec(
    protocol="responses",
    url=responses_url,
    model=_model,
    auth=_auth,
    fixed_headers={},
    stops=(b"event: response.completed", b"event: response.incomplete"),
    failures=(b"event: response.failed", b"event: error"),
    failure=failure,
)
