"""Bounds on what a provider may send before the gateway parses it.

A provider's bytes are hostile input too: one event without an end, or a compressed body
that inflates a thousandfold, would otherwise grow memory without limit or hold the event
loop for seconds. Both provider paths apply the same bounds: the direct path in its own
reader, the LiteLLM path through this module's transport, wrapped around each one LiteLLM
creates (`litellm_internals.bound_transports`; LiteLLM parses SSE itself, after the bytes
have passed through here).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from gateway.errors import UpstreamFailed
from gateway.providers.limits import COMPRESSED, MAX_EVENT_BYTES, TOO_LARGE, is_compressed

MAX_BINARY_BODY_BYTES = 256 * 1024 * 1024
"""The most a non-SSE streamed body (Bedrock's binary event stream) may carry."""

_EVENT_ENDS = (b"\n\n", b"\r\r", b"\r\n\r\n")


def _last_event_end(window: bytes) -> int:
    """The offset just past the last blank line in `window`, or -1."""
    best = -1
    for end in _EVENT_ENDS:
        at = window.rfind(end)
        if at >= 0:
            best = max(best, at + len(end))
    return best


class BoundedByteStream(httpx.AsyncByteStream):
    """Passes bytes through unchanged, failing once an event (or the body) is too large."""

    def __init__(self, inner: httpx.AsyncByteStream, server_sent_events: bool) -> None:
        self._inner = inner
        self._sse = server_sent_events

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pending = 0  # bytes since the last event boundary (the whole body, if not SSE)
        tail = b""  # the end of the previous piece: a boundary may span two pieces
        limit = MAX_EVENT_BYTES if self._sse else MAX_BINARY_BODY_BYTES
        async for piece in self._inner:
            if self._sse:
                window = tail + piece
                end = _last_event_end(window)
                pending = len(window) - end if end >= 0 else pending + len(piece)
                tail = window[-3:]
            else:
                pending += len(piece)
            if pending > limit:
                raise UpstreamFailed(TOO_LARGE)
            yield piece

    async def aclose(self) -> None:
        await self._inner.aclose()


class BoundedTransport(httpx.AsyncBaseTransport):
    """Asks for uncompressed bodies, refuses compressed ones, bounds the rest."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["accept-encoding"] = "identity"
        response = await self._inner.handle_async_request(request)
        if is_compressed(response.headers):
            await response.aclose()
            raise UpstreamFailed(COMPRESSED)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        response.stream = BoundedByteStream(response.stream, media_type == "text/event-stream")
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
