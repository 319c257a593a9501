"""The `context` object handlers get, built from the `next` response headers.

Apps read it from `scope["aws.context"]` (as under Mangum), e.g. to stop streaming
before the function's deadline.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any


class LambdaContext:
    """The attributes of the managed runtime's context object, for one invocation."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self.aws_request_id = headers.get("lambda-runtime-aws-request-id", "")
        self.invoked_function_arn = headers.get("lambda-runtime-invoked-function-arn", "")
        self.tenant_id = headers.get("lambda-runtime-aws-tenant-id")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or 0)
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.client_context = _namespace(headers.get("lambda-runtime-client-context"))
        self.identity = _identity(headers.get("lambda-runtime-cognito-identity"))
        self._deadline_ms = int(headers.get("lambda-runtime-deadline-ms") or 0)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until Lambda stops the invocation (never negative)."""
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self) -> str:
        return f"LambdaContext(aws_request_id={self.aws_request_id!r})"


def _json_object(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _namespace(raw: str | None) -> Any:
    """A JSON header as attribute access (the shape the managed runtime gives), or None."""
    value = _json_object(raw)
    return None if value is None else SimpleNamespace(**value)


def _identity(raw: str | None) -> Any:
    """The Cognito identity under the managed runtime's attribute names, or None."""
    value = _json_object(raw)
    if value is None:
        return None
    return SimpleNamespace(
        cognito_identity_id=value.get("cognitoIdentityId"),
        cognito_identity_pool_id=value.get("cognitoIdentityPoolId"),
    )
