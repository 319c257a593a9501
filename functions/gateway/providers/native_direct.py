"""A native protocol on the direct path: the client's request as it sent it (the route's
model put in), the provider's answer as the provider sent it.

The gateway's own HTTP client (`http1`), no LiteLLM. A streamed answer is handed on event
by event, untouched, by the same SSE reader and bounds as the chat path; a non-streamed
one as its JSON, bounded in size. An event in which the provider reports a failure ends
the stream with the gateway's own error, its message redacted. Each protocol
(`anthropic_native`, `openai_responses`) says where it posts, how it authenticates, and
which events end or fail its stream (`NativeProtocolSpec`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from gateway.config import ModelRoute, NativeProtocol, Settings
from gateway.core.chunks import EventSource
from gateway.errors import UpstreamFailed, UpstreamTimeout
from gateway.providers.base import NativeUpstreamRequest
from gateway.providers.direct import post, read_whole
from gateway.providers.http1 import ConnectionPool, HTTPError, Response
from gateway.providers.limits import MAX_EVENT_BYTES, TOO_LARGE
from gateway.providers.sse_reader import SSEEventReader
from gateway.providers.upstream_errors import BROKE_OFF, NO_ANSWER
from gateway.redaction import Redactor

_DRAIN_SECONDS = 0.05
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


def error_code(code: object) -> str | None:
    """A provider's error code, if it is a plain identifier (`context_length_exceeded`),
    which clients act on: anything else may carry text, and is not passed on."""
    return code if isinstance(code, str) and _CODE.fullmatch(code) else None


@dataclass(frozen=True, slots=True)
class NativeProtocolSpec:
    """What differs between the native protocols on the direct path."""

    protocol: NativeProtocol
    url: Callable[[str | None], str]
    """The endpoint for a route's `api_base`."""
    model: Callable[[ModelRoute], str]
    """The model name the provider expects."""
    auth: Callable[[str], dict[str, str]]
    """The headers that carry the route's key (and any the protocol always needs)."""
    fixed_headers: dict[str, str]
    """Headers every request carries, whatever the client sent."""
    stops: tuple[bytes, ...]
    """Starts of the events after which the stream is complete."""
    failures: tuple[bytes, ...]
    """Starts of the events in which the provider reports a failure."""
    failure: Callable[[bytes], tuple[str, str | None]]
    """The message of a failure event's data (empty when it has none), and the error code
    the provider gave it, if the protocol has codes (see `error_code`)."""


def is_last_event(event: bytes, spec: NativeProtocolSpec, redactor: Redactor) -> bool:
    """Whether `event` completes a stream of `spec`'s protocol; an event in which the
    provider reports a failure is the gateway's own error, its message redacted."""
    if event.startswith(spec.failures):
        message, code = spec.failure(event.partition(b"\ndata:")[2].strip())
        detail = redactor.clean(message)
        raise UpstreamFailed(
            "The provider reported an error" + (f": {detail}" if detail else "."), code=code
        )
    return event.startswith(spec.stops)


class NativeDirectProvider:
    """A `NativeProvider` for one protocol, on the gateway's own HTTP client."""

    def __init__(self, spec: NativeProtocolSpec, settings: Settings, redactor: Redactor) -> None:
        self._spec = spec
        self._settings = settings
        self._redactor = redactor
        self._http = ConnectionPool(settings.connect_timeout_seconds)

    async def stream(self, request: NativeUpstreamRequest) -> NativeEventStream:
        return NativeEventStream(await self._open(request), self._spec, self._redactor)

    async def answer(self, request: NativeUpstreamRequest) -> bytes:
        """The JSON, whole, within the request's timeout and `MAX_EVENT_BYTES`."""
        try:
            async with asyncio.timeout(request.timeout_seconds):
                return await read_whole(await self._open(request), MAX_EVENT_BYTES, TOO_LARGE)
        except TimeoutError:
            raise UpstreamTimeout(NO_ANSWER) from None

    async def _open(self, request: NativeUpstreamRequest) -> Response:
        """The provider's 200 response, its body not read yet; anything else is the
        `GatewayError` the client should see (see `direct.post`)."""
        spec, route = self._spec, request.route
        body = dict(request.body)
        body["model"] = spec.model(route)
        headers = {
            **request.headers,
            "content-type": "application/json",
            "accept": "text/event-stream" if body.get("stream") is True else "application/json",
            "accept-encoding": "identity",
            **spec.fixed_headers,
        }
        if route.api_key is not None:
            headers |= spec.auth(route.api_key.reveal())
        return await post(
            self._http,
            spec.url(route.api_base),
            orjson.dumps(body),
            headers,
            request.timeout_seconds,
            self._redactor,
        )

    def prepare(self) -> None:
        """The TLS context, if a route of this protocol is https:// (see the chat path's)."""
        if any(
            route.native_protocol == self._spec.protocol
            and not route.claude_on_bedrock
            and self._spec.url(route.api_base).startswith("https:")
            for route in self._settings.models.values()
        ):
            self._http.tls()

    async def aclose(self) -> None:
        await self._http.aclose()


class NativeEventStream(EventSource[bytes]):
    """The provider's server-sent events, whole, in order; ends with the body, which must
    come after one of the protocol's closing events."""

    __slots__ = ("_reader", "_redactor", "_response", "_spec", "_stopped")

    def __init__(self, response: Response, spec: NativeProtocolSpec, redactor: Redactor) -> None:
        self._response = response
        self._reader = SSEEventReader(response)
        self._spec = spec
        self._redactor = redactor
        self._stopped = False

    async def __anext__(self) -> bytes:
        try:
            event = await self._reader.next_data()
        except HTTPError:
            raise UpstreamFailed(BROKE_OFF) from None
        if event is None:
            if self._stopped:
                raise StopAsyncIteration
            raise UpstreamFailed("The provider closed the stream before it was complete.")
        self._stopped |= is_last_event(event, self._spec, self._redactor)
        return event

    def ready(self) -> bool:
        return self._reader.ready()

    async def aclose(self) -> None:
        if self._stopped and not self._response.complete:
            # Only the end of the body is left: read it, so the connection is reused.
            with contextlib.suppress(TimeoutError, HTTPError, UpstreamFailed):
                async with asyncio.timeout(_DRAIN_SECONDS):
                    await self._reader.drain()
        # Closes a connection not read to its end: that tells the provider to stop.
        self._response.release()
