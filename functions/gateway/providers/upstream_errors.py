"""How a provider's HTTP status becomes the client's error: one mapping for all providers."""

from __future__ import annotations

import json
import re
from email.utils import parsedate_to_datetime

from gateway.errors import (
    GatewayError,
    InvalidRequest,
    UpstreamCredentialsRejected,
    UpstreamFailed,
    UpstreamRateLimited,
    UpstreamTimeout,
)

UNREACHABLE = "The provider could not be reached."
NO_ANSWER = "The provider did not answer in time."
BROKE_OFF = "The provider's stream broke off."
_DELAY = re.compile(r"[0-9]{1,9}")
_HTTP_DATE = re.compile(r"[A-Za-z0-9 ,:-]{1,64}")


def valid_retry_after(value: str | None) -> str | None:
    """`value` if it is what `Retry-After` may hold (a delay in seconds or an HTTP date),
    else None: a provider's header is passed on to the client only when it is well formed."""
    if value is None:
        return None
    value = value.strip()
    if _DELAY.fullmatch(value):
        return value
    if _HTTP_DATE.fullmatch(value):
        try:
            parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return value
    return None


_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
_LABEL = re.compile(r"^(?:litellm\.)?[A-Za-z_.]*(?:Error|Exception)\s*(?:[:-]\s*)+")
_BYTES_REPR = re.compile(r"""^b(['"])(.*)\1$""", re.DOTALL)
MAX_DETAIL = 300


def cleaned(detail: str) -> str:
    """What of a provider's (redacted) error text a tenant can act on: the message of a
    JSON error body or of a bytes repr LiteLLM passed on, without client labels
    (`litellm.BadRequestError: AnthropicException - ...`), addresses (an internal URL
    says where the gateway's provider lives) or line breaks, and at most 300 characters."""
    text = detail.strip()
    while (label := _LABEL.match(text)) is not None:
        text = text[label.end() :]
    if (quoted := _BYTES_REPR.match(text)) is not None:
        text = quoted[2].encode("latin-1", "replace").decode("unicode_escape", "replace")
    if text.startswith("{"):
        text = _json_message(text) or ""
    text = " ".join(_URL.sub("[address]", text).split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 3] + "..."


def _json_message(text: str) -> str | None:
    try:
        body = json.loads(text)
    except ValueError:
        return None
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    return message if isinstance(message, str) else None


def error_for_status(status: int, detail: str, retry_after: str | None) -> GatewayError:
    """`detail` is the provider's own message, already redacted; it is shown, cleaned,
    only where it helps the client (rate limits, rejected requests)."""
    detail = cleaned(detail)
    suffix = f": {detail}" if detail else "."
    if status == 429:
        retry_after = valid_retry_after(retry_after)
        return UpstreamRateLimited(
            "The provider is rate limiting requests" + suffix,
            headers={"retry-after": retry_after} if retry_after else None,
        )
    if status in (401, 403):
        return UpstreamCredentialsRejected("The provider refused the gateway's credentials.")
    if status == 408:
        return UpstreamTimeout("The provider timed out.")
    if 400 <= status < 500:
        return InvalidRequest(
            "The provider rejected the request" + suffix, code="upstream_invalid_request"
        )
    return UpstreamFailed(f"The provider failed with status {status}.")
