"""How a provider's HTTP status becomes the client's error: one mapping for all providers."""

from __future__ import annotations

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


def error_for_status(status: int, detail: str, retry_after: str | None) -> GatewayError:
    """`detail` is the provider's own message, already redacted; it is shown only where it
    helps the client (rate limits, rejected requests)."""
    suffix = f": {detail}" if detail else "."
    if status == 429:
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
