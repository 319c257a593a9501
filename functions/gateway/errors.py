"""The gateway's one error model.

Every failure the client may see is a `GatewayError`. `http_errors.py` maps it to a
status and the error body of the request's door before the first byte; the door's
stream format turns it into an error event after.
Messages are written for the client: they never carry keys, upstream URLs or stack traces.
"""

from __future__ import annotations

from typing import Any, ClassVar


class GatewayError(Exception):
    """A failure with a client-facing message, status and OpenAI error type."""

    status: ClassVar[int] = 500
    type: ClassVar[str] = "server_error"
    default_code: ClassVar[str] = "internal_error"
    retryable: ClassVar[bool] = False
    """Whether another attempt (before the first byte) may succeed."""

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code or self.default_code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """OpenAI's error shape, as the `openai` SDK parses it."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequest(GatewayError):
    """The request is malformed or violates the schema."""

    status = 400
    type = "invalid_request_error"
    default_code = "invalid_request"


class AuthenticationFailed(GatewayError):
    """No API key, or one the gateway does not know."""

    status = 401
    type = "invalid_request_error"
    default_code = "invalid_api_key"


class ModelNotFound(GatewayError):
    """The model does not exist or the tenant may not use it."""

    status = 404
    type = "invalid_request_error"
    default_code = "model_not_found"


class NotAllowed(GatewayError):
    """The request uses something its route does not allow (a server tool, MCP servers,
    files, containers, a priority tier): the operator decides what a tenant may spend."""

    status = 403
    type = "invalid_request_error"
    default_code = "not_allowed_on_route"


class NotFound(GatewayError):
    """No such endpoint."""

    status = 404
    type = "invalid_request_error"
    default_code = "not_found"


class MethodNotAllowed(GatewayError):
    """The endpoint exists but not for this method."""

    status = 405
    type = "invalid_request_error"
    default_code = "method_not_allowed"


class PayloadTooLarge(GatewayError):
    """The request body exceeds the configured limit."""

    status = 413
    type = "invalid_request_error"
    default_code = "request_too_large"


class UnsupportedMediaType(GatewayError):
    """The body is not declared as JSON."""

    status = 415
    type = "invalid_request_error"
    default_code = "unsupported_media_type"


class UpstreamRateLimited(GatewayError):
    """The provider answered 429; its Retry-After travels in `headers`."""

    status = 429
    type = "rate_limit_error"
    default_code = "rate_limit_exceeded"


class UpstreamFailed(GatewayError):
    """The provider refused the connection, answered 5xx or broke the protocol."""

    status = 502
    type = "api_error"
    default_code = "upstream_error"
    retryable = True


class UpstreamCredentialsRejected(UpstreamFailed):
    """The provider refused the gateway's own key: an operator problem, not transient."""

    retryable = False


class UpstreamTimeout(GatewayError):
    """The provider did not answer in time, or the stream ran past its deadline."""

    status = 504
    type = "api_error"
    default_code = "gateway_timeout"


DEADLINE_MESSAGE = "Gateway timeout: the response reached the gateway's time limit."


def idle_message(seconds: float) -> str:
    return f"Gateway timeout: the provider sent nothing for {seconds:g} seconds."


class InternalError(GatewayError):
    """A bug: the message is generic, details go to the log only."""

    status = 500
    type = "server_error"
    default_code = "internal_error"


class ConfigurationError(Exception):
    """The gateway's environment configuration is invalid; raised at start, not per request."""


class LimitExceeded(GatewayError):
    """A tenant's own limit refused the request before any provider was called."""

    status = 429
    default_code = "rate_limit_exceeded"


class RequestRateExceeded(LimitExceeded):
    """Requests per minute, or requests open at once."""

    type = "requests"


class TokenRateExceeded(LimitExceeded):
    """Tokens per minute (the request's reservation would pass the limit)."""

    type = "tokens"


class BudgetExhausted(LimitExceeded):
    """The tenant's budget for the period is spent: waiting until the period ends is the
    only remedy, so no SDK should retry (`x-should-retry: false`)."""

    type = "insufficient_quota"
    default_code = "insufficient_quota"


class UsageStoreUnavailable(GatewayError):
    """The usage store could not be reached and the tenant's limits may not be skipped."""

    status = 503
    type = "api_error"
    default_code = "usage_store_unavailable"
