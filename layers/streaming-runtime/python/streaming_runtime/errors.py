"""Exceptions, and the error document the Runtime API expects for them."""

from __future__ import annotations

from typing import Any


class Fault(Exception):
    """A failure the managed runtime reports under a `Runtime.*` error type."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class UnsupportedEvent(Exception):
    """The event is not an HTTP request from a Function URL, API Gateway or an ALB."""


class NoResponse(Exception):
    """The app returned without starting a response."""


class RuntimeApiError(Exception):
    """The Runtime API answered with an unexpected status."""


def error_document(exc: BaseException, *, with_trace: bool = True) -> dict[str, Any]:
    """`{"errorMessage", "errorType", "stackTrace"}` as the managed runtime reports it.

    Only the exception's type, message and code locations go out: never locals, the
    event or the environment, which may hold secrets.
    """
    fault = isinstance(exc, Fault)
    error_type = exc.error_type if isinstance(exc, Fault) else type(exc).__name__
    document: dict[str, Any] = {"errorMessage": str(exc), "errorType": error_type}
    if with_trace:
        document["stackTrace"] = [] if fault else _user_frames(exc)
    return document


def _user_frames(exc: BaseException) -> list[str]:
    """The traceback without this runtime's own leading frames (as awslambdaric drops its
    bootstrap.py), so it starts in the app."""
    import os
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    package_dir = os.path.dirname(os.path.abspath(__file__))
    first_user_frame = next(
        (index for index, frame in enumerate(frames) if not frame.filename.startswith(package_dir)),
        0,
    )
    return traceback.format_list(frames[first_user_frame:])
