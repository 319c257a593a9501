"""Exceptions, and the error document the Runtime API expects for them."""

from __future__ import annotations

import os
import traceback
from typing import Any


class Fault(Exception):
    """A failure the managed runtime reports under a `Runtime.*` error type; `trace` is
    the stack trace it reports (none, or the line of a syntax error)."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.trace = trace or []


class UnsupportedEvent(Exception):
    """The event is not an HTTP request from a Function URL, API Gateway or an ALB."""


class NoResponse(Exception):
    """The app returned without starting a response."""


class RuntimeApiError(Exception):
    """The Runtime API answered with an unexpected status."""


def error_document(exc: BaseException, request_id: str = "") -> dict[str, Any]:
    """`{"errorMessage", "errorType", "requestId", "stackTrace"}`, as `awslambdaric` posts
    it to `/init/error` (`requestId` empty) and `/invocation/{id}/error`.

    Only the exception's type, message and code locations go out: never locals, the
    event or the environment, which may hold secrets.
    """
    return {
        "errorMessage": str(exc),
        "errorType": exc.error_type if isinstance(exc, Fault) else type(exc).__name__,
        "requestId": request_id,
        "stackTrace": exc.trace if isinstance(exc, Fault) else _user_frames(exc),
    }


def _user_frames(exc: BaseException) -> list[str]:
    """The traceback without this runtime's own leading frames (as awslambdaric drops its
    bootstrap.py), so it starts in the app."""
    frames = traceback.extract_tb(exc.__traceback__)
    package_dir = os.path.dirname(os.path.abspath(__file__))
    first_user_frame = next(
        (index for index, frame in enumerate(frames) if not frame.filename.startswith(package_dir)),
        0,
    )
    return traceback.format_list(frames[first_user_frame:])
