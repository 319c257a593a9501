"""One Lambda HTTP event through the ASGI app, with Mangum's event handlers.

Mangum's handlers turn the event into the scope and body (so apps see exactly what they
see under Mangum) and, for buffered responses, the response into Lambda's dict. The
exchange here replaces Mangum's `HTTPCycle`, which can only buffer: each body message
goes to a sink the moment the app sends it.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from typing import Any, Protocol

from mangum import Mangum
from mangum.exceptions import UnexpectedMessage
from mangum.types import ASGI, LambdaHandler, Message, Response

from streaming_runtime import logs
from streaming_runtime.context import LambdaContext
from streaming_runtime.errors import NoResponse, UnsupportedEvent, error_document
from streaming_runtime.response_stream import (
    HTTP_INTEGRATION_CONTENT_TYPE,
    ResponseStream,
    encode_prelude,
)
from streaming_runtime.runtime_api import RuntimeApi

logger = logging.getLogger(__name__)

Headers = list[tuple[bytes, bytes]]


def infer_handler(served: Mangum, event: Any, context: LambdaContext) -> LambdaHandler:
    """`Mangum.infer`'s handler for the event (its custom handlers first, then its own);
    `UnsupportedEvent` for an event none of them accepts."""
    if isinstance(event, dict):
        try:
            return served.infer(event, context)
        except RuntimeError:  # what Mangum raises when no handler accepts the event
            pass
    raise UnsupportedEvent(
        "The event is not an HTTP request from a Function URL, API Gateway or an ALB"
    )


def is_function_url(event: dict[str, Any]) -> bool:
    """Function URL events are payload 2.0 with the `*.lambda-url.*` domain; only they can
    be streamed (API Gateway and ALB read a buffered response)."""
    context = event.get("requestContext")
    domain = context.get("domainName") if isinstance(context, dict) else None
    return event.get("version") == "2.0" and isinstance(domain, str) and ".lambda-url." in domain


class ResponseSink(Protocol):
    """Where an exchange's response goes: streamed to the Runtime API, or buffered."""

    async def start(self, status: int, headers: Headers) -> None: ...
    async def body(self, data: bytes) -> None: ...
    async def finish(self) -> None: ...
    async def fail(self, document: dict[str, Any]) -> None: ...
    async def abandon(self) -> None: ...


class ClientGone(Exception):
    """The Runtime API stopped taking the streamed response (the client went away)."""


class StreamingSink:
    """Writes the response to a streaming `/response` as the app produces it."""

    def __init__(self, api: RuntimeApi, request_id: str) -> None:
        self._api = api
        self._request_id = request_id
        self._stream: ResponseStream | None = None

    async def start(self, status: int, headers: Headers) -> None:
        content_type = HTTP_INTEGRATION_CONTENT_TYPE
        self._stream = await ResponseStream.open(self._api, self._request_id, content_type)
        await self.body(encode_prelude(status, headers))

    async def body(self, data: bytes) -> None:
        assert self._stream is not None
        try:
            await self._stream.write(data)
        except OSError as exc:
            raise ClientGone(str(exc)) from exc

    async def finish(self) -> None:
        assert self._stream is not None
        await self._stream.close()

    async def fail(self, document: dict[str, Any]) -> None:
        if self._stream is None:
            await self._api.post_error(self._request_id, document)
        else:
            # Trailers are headers: keep them small (the log has the whole document).
            await self._stream.fail(
                {"errorMessage": document["errorMessage"], "errorType": document["errorType"]}
            )

    async def abandon(self) -> None:
        if self._stream is not None:
            await self._stream.abort()


class BufferedSink:
    """Collects the response and posts the dict Mangum would return for the event."""

    def __init__(self, api: RuntimeApi, request_id: str, handler: LambdaHandler) -> None:
        self._api = api
        self._request_id = request_id
        self._handler = handler
        self._status = 500
        self._headers: Headers = []
        self._body = bytearray()

    async def start(self, status: int, headers: Headers) -> None:
        self._status, self._headers = status, headers

    async def body(self, data: bytes) -> None:
        self._body += data

    async def finish(self) -> None:
        headers = [[name, value] for name, value in self._headers]
        response = Response(status=self._status, headers=headers, body=bytes(self._body))
        result = self._handler(response)
        await self._api.post_response(self._request_id, json.dumps(result).encode())

    async def fail(self, document: dict[str, Any]) -> None:
        await self._api.post_error(self._request_id, document)

    async def abandon(self) -> None:
        pass


class State(enum.Enum):
    REQUEST = enum.auto()
    RESPONSE = enum.auto()
    COMPLETE = enum.auto()
    CLIENT_GONE = enum.auto()


class HTTPExchange:
    """`receive` and `send` for one request; relays the response to a sink.

    `receive` gives the body once, then waits until the response is complete (or the
    client is gone) before reporting `http.disconnect`: an early disconnect would make
    apps cancel their work, e.g. an upstream model stream.
    """

    def __init__(
        self, request_id: str, scope: dict[str, Any], body: bytes, sink: ResponseSink
    ) -> None:
        self.request_id = request_id
        self.scope = scope
        self._body: bytes | None = body
        self._sink = sink
        self._state = State.REQUEST
        self._done = asyncio.Event()

    async def run(self, app: ASGI) -> None:
        try:
            await app(self.scope, self.receive, self.send)
            if self._state is State.REQUEST:
                raise NoResponse("The app returned without sending http.response.start")
            if self._state is State.RESPONSE:
                await self._complete()  # the app returned without a final body message
        except Exception as exc:
            await self._failed(exc)
        finally:
            if self._state is State.CLIENT_GONE:
                await self._sink.abandon()
            self._done.set()

    async def receive(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self._done.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if self._state is State.CLIENT_GONE:
            return  # as a server does once the client has gone: the app learns from receive
        try:
            if self._state is State.REQUEST and kind == "http.response.start":
                headers = [
                    (bytes(name), bytes(value)) for name, value in message.get("headers", [])
                ]
                self._state = State.RESPONSE
                await self._sink.start(message["status"], headers)
            elif self._state is State.RESPONSE and kind == "http.response.body":
                await self._sink.body(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._complete()
            else:
                raise UnexpectedMessage(f"Unexpected {kind} in state {self._state.name}")
        except ClientGone:
            self._state = State.CLIENT_GONE
            self._done.set()
            logger.warning("The Runtime API closed the response stream; dropping the rest")

    async def _complete(self) -> None:
        self._state = State.COMPLETE
        try:
            await self._sink.finish()
        finally:
            self._done.set()

    async def _failed(self, exc: Exception) -> None:
        document = error_document(exc, self.request_id)
        logs.log_error(document)
        if self._state in (State.REQUEST, State.RESPONSE):
            await self._sink.fail(document)
        # After COMPLETE the response is out and after CLIENT_GONE nobody listens.
