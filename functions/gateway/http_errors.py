"""The one place where failures become HTTP responses, in the error shape of their door."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gateway.context import RequestContext
from gateway.doors.base import FrontDoor
from gateway.doors.chat import CHAT_COMPLETIONS
from gateway.doors.messages import MESSAGES
from gateway.errors import GatewayError, InternalError, InvalidRequest, MethodNotAllowed, NotFound
from gateway.observability import log_request

log = logging.getLogger(__name__)


def error_response(request: Request, error: GatewayError) -> Response:
    """`error` in the error shape of the door the request came through (OpenAI's unless
    a route said otherwise by setting `request.state.door`)."""
    context: RequestContext | None = getattr(request.state, "context", None)
    log_request(
        context, status=error.status, ended_at=asyncio.get_running_loop().time(), error=error
    )
    door: FrontDoor = getattr(request.state, "door", None) or _door_of_path(request.url.path)
    return door.error_response(error)


def _door_of_path(path: str) -> FrontDoor:
    """The door for a failure before any endpoint chose one (an unknown method, say):
    Anthropic's shape under its paths, OpenAI's elsewhere."""
    return MESSAGES if path.startswith("/v1/messages") else CHAT_COMPLETIONS


async def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return error_response(request, exc)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(request, NotFound(f"Unknown endpoint: {request.url.path}"))
    if exc.status_code == 405:
        return error_response(
            request, MethodNotAllowed(f"Method {request.method} is not allowed here.")
        )
    return error_response(request, InvalidRequest(str(exc.detail)))


async def _validation_error(request: Request, exc: Exception) -> Response:
    return error_response(request, InvalidRequest("The request is invalid."))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    error = InternalError("The gateway failed unexpectedly.")
    error.headers["x-should-retry"] = "false"  # the provider may have been paid already
    return error_response(request, error)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
