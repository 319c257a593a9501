"""Anthropic's Messages API on the direct path: the client's request as it sent it, the
provider's answer as the provider sent it.

The gateway's own HTTP client (`http1`), no LiteLLM: the key goes in `x-api-key` and the
API version in `anthropic-version`, both set here from the route. A streamed answer is
handed on event by event, untouched (pings included), by the same SSE reader and bounds
as the chat path; a non-streamed one as its JSON, bounded in size. An `error` event
from the provider ends the stream with the gateway's own error, its message redacted.
"""

from __future__ import annotations

import asyncio
import contextlib

import orjson

from gateway.config import Settings
from gateway.core.chunks import EventSource
from gateway.errors import UpstreamFailed, UpstreamTimeout
from gateway.providers.base import NativeUpstreamRequest
from gateway.providers.direct import error_message, post, read_whole
from gateway.providers.http1 import ConnectionPool, HTTPError, Response
from gateway.providers.limits import MAX_EVENT_BYTES, TOO_LARGE
from gateway.providers.sse_reader import SSEEventReader
from gateway.providers.upstream_errors import BROKE_OFF, NO_ANSWER
from gateway.redaction import Redactor

ANTHROPIC_API_BASE = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"
_DRAIN_SECONDS = 0.05


def messages_url(api_base: str | None) -> str:
    """`<api_base>/v1/messages`; a base that already ends in `/v1` or `/v1/messages`
    (as some Anthropic-compatible providers document it) is taken as it is."""
    base = (api_base or ANTHROPIC_API_BASE).rstrip("/")
    return base if base.endswith("/v1/messages") else base.removesuffix("/v1") + "/v1/messages"


class AnthropicNativeProvider:
    def __init__(self, settings: Settings, redactor: Redactor) -> None:
        self._settings = settings
        self._redactor = redactor
        self._http = ConnectionPool(settings.connect_timeout_seconds)

    async def stream(self, request: NativeUpstreamRequest) -> NativeEventStream:
        return NativeEventStream(await self._open(request), self._redactor)

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
        route = request.route
        body = dict(request.body)
        body["model"] = route.model.removeprefix("anthropic/")
        headers = {
            **request.headers,
            "content-type": "application/json",
            "accept": "text/event-stream" if body.get("stream") is True else "application/json",
            "accept-encoding": "identity",
            "anthropic-version": ANTHROPIC_VERSION,
        }
        if route.api_key is not None:
            headers["x-api-key"] = route.api_key.reveal()
        return await post(
            self._http,
            messages_url(route.api_base),
            orjson.dumps(body),
            headers,
            request.timeout_seconds,
            self._redactor,
        )

    def prepare(self) -> None:
        """The TLS context, if a route of this kind is https:// (see the chat path's)."""
        if any(
            route.native_protocol == "messages"
            and messages_url(route.api_base).startswith("https:")
            for route in self._settings.models.values()
        ):
            self._http.tls()

    async def aclose(self) -> None:
        await self._http.aclose()


def is_last_event(event: bytes, redactor: Redactor) -> bool:
    """Whether a Messages event is `message_stop`; an `error` event is the gateway's own
    error, its message redacted."""
    if event.startswith(b"event: message_stop"):
        return True
    if event.startswith(b"event: error"):
        data = event.partition(b"\ndata:")[2].strip()
        detail = redactor.clean(error_message(data))
        raise UpstreamFailed("The provider reported an error" + (f": {detail}" if detail else "."))
    return False


class NativeEventStream(EventSource[bytes]):
    """The provider's server-sent events, whole, in order; ends with the body, which must
    come after `message_stop`."""

    __slots__ = ("_reader", "_redactor", "_response", "_stopped")

    def __init__(self, response: Response, redactor: Redactor) -> None:
        self._response = response
        self._reader = SSEEventReader(response)
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
        self._stopped |= is_last_event(event, self._redactor)
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
