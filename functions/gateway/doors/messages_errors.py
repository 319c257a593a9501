"""The gateway's errors in Anthropic's shape: `{"type": "error", "error": {type, message}}`.

The status stays the gateway's own: Anthropic's SDKs pick their exception class by status
(and 5xx ones are retried), so a 502 (the provider failed) and a 504 (it did not answer in
time) keep saying what happened; their types are `api_error` and `timeout_error`, the
type Anthropic itself uses for a 504. A spent budget is what Anthropic answers when an
organisation's spend limit is reached: 400 `invalid_request_error`, "You have reached
your specified API usage limits".
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from gateway.errors import BudgetExhausted, GatewayError

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _status_and_type(error: GatewayError) -> tuple[int, str]:
    if isinstance(error, BudgetExhausted):
        return 400, "invalid_request_error"
    kind = _TYPES.get(error.status) or (
        "api_error" if error.status >= 500 else "invalid_request_error"
    )
    return error.status, kind


def error_body(error: GatewayError) -> dict[str, Any]:
    _, kind = _status_and_type(error)
    return {"type": "error", "error": {"type": kind, "message": error.message}}


def error_response(error: GatewayError) -> Response:
    """Before the first byte: the body with the error's status and headers (`retry-after`)."""
    status, _ = _status_and_type(error)
    return Response(
        orjson.dumps(error_body(error)),
        status_code=status,
        media_type="application/json",
        headers=error.headers,
    )


def error_event(error: GatewayError) -> bytes:
    """After the first byte: the `error` event, which ends the stream."""
    return b"event: error\ndata: " + orjson.dumps(error_body(error)) + b"\n\n"
