"""The direct path's request: a POST to the provider, answered with a 200 or an error.

Shared by every provider the gateway reaches with its own HTTP client (`http1`): the
same timeouts, the same refusal of compressed bodies (see `limits`), the same mapping of
a provider's error status and redacted message to the client's error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import orjson

from gateway.errors import GatewayError, UpstreamFailed, UpstreamTimeout
from gateway.providers.http1 import ConnectionPool, HTTPError, Response
from gateway.providers.limits import COMPRESSED, is_compressed
from gateway.providers.upstream_errors import NO_ANSWER, UNREACHABLE, error_for_status
from gateway.redaction import Redactor

MAX_ERROR_BODY = 64 * 1024


async def post(
    http: ConnectionPool,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout_seconds: float,
    redactor: Redactor,
) -> Response:
    """The provider's response once its head says 200, within `timeout_seconds`; any
    other answer, or none, is the `GatewayError` the client should see."""
    try:
        async with asyncio.timeout(timeout_seconds):
            response = await http.post(url, body, headers)
            if response.status != 200:
                raise await _status_error(response, redactor)
            if is_compressed(response.headers):
                response.close()
                raise UpstreamFailed(COMPRESSED)
    except TimeoutError:  # connect timeouts are TimeoutErrors too
        raise UpstreamTimeout(NO_ANSWER) from None
    except HTTPError:
        raise UpstreamFailed(UNREACHABLE) from None
    return response


async def _status_error(response: Response, redactor: Redactor) -> GatewayError:
    """Map a non-200 upstream answer to the error the client should see."""
    try:
        raw = b""
        # An error body is never inflated (see `limits`); a compressed one simply has no
        # readable message.
        async for part in response:
            raw += part
            if len(raw) > MAX_ERROR_BODY:
                break
    finally:
        response.close()
    detail = redactor.clean(error_message(raw))
    return error_for_status(response.status, detail, response.headers.get("retry-after"))


def error_message(raw: bytes) -> str:
    """The message of an error body in OpenAI's shape or Anthropic's (both keep it at
    `error.message`); empty when there is none."""
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    return message if isinstance(message, str) else ""
