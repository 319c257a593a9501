"""Direct provider for OpenAI-compatible upstreams (OpenAI, Groq, vLLM, Ollama, ...).

No translation is needed, so each upstream event is parsed once with orjson and handed
on: this is the gateway's fast path. Its HTTP client (`http1`) parses in C and hands over
everything that arrived in one read: a burst of events costs one read, and the event
stream sends it in one write.
"""

from __future__ import annotations

import asyncio
import contextlib

import orjson

from gateway.config import Settings
from gateway.core.chunk_shape import WRONG_SHAPE, checked_chunk
from gateway.core.chunks import Chunk, ChunkStream
from gateway.core.usage import usage_from_chat
from gateway.errors import UpstreamFailed
from gateway.providers.base import UpstreamRequest
from gateway.providers.direct import post
from gateway.providers.http1 import ConnectionPool, HTTPError, Response
from gateway.providers.sse_reader import SSEDataReader
from gateway.providers.upstream_errors import BROKE_OFF
from gateway.redaction import Redactor

OPENAI_API_BASE = "https://api.openai.com/v1"
_OWN_FIELDS = ("id", "object", "created", "model")
_DRAIN_SECONDS = 0.05


class OpenAICompatibleProvider:
    def __init__(self, settings: Settings, redactor: Redactor) -> None:
        self._settings = settings
        self._redactor = redactor
        # Reads are not timed by the client: the stream supervisor owns idle and deadline
        # timeouts.
        self._http = ConnectionPool(settings.connect_timeout_seconds)

    async def open(self, request: UpstreamRequest) -> UpstreamEventStream:
        route = request.route
        url = (route.api_base or OPENAI_API_BASE).rstrip("/") + "/chat/completions"
        body = {
            **request.extra_body,
            **request.params,
            "model": route.upstream_model,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        headers = {
            **request.headers,
            "content-type": "application/json",
            "accept": "text/event-stream",
            "accept-encoding": "identity",  # compressed SSE would be held back in buffers
        }
        if route.api_key is not None:
            headers["authorization"] = "Bearer " + route.api_key.reveal()
        response = await post(
            self._http, url, orjson.dumps(body), headers, request.timeout_seconds, self._redactor
        )
        return UpstreamEventStream(response, self._redactor)

    def prepare(self) -> None:
        """The TLS context, if a route of this kind is https://: connections can only be
        made on the event loop that serves the requests."""
        if any(
            route.provider == "openai-compatible"
            and (route.api_base or OPENAI_API_BASE).startswith("https:")
            for route in self._settings.models.values()
        ):
            self._http.tls()

    async def aclose(self) -> None:
        await self._http.aclose()


class UpstreamEventStream(ChunkStream):
    """The upstream's SSE events as chunks; ends at `data: [DONE]`."""

    __slots__ = ("_done", "_reader", "_redactor", "_response")

    def __init__(self, response: Response, redactor: Redactor) -> None:
        self._response = response
        self._reader = SSEDataReader(response)
        self._redactor = redactor
        self._done = False

    async def __anext__(self) -> Chunk:
        if self._done:
            raise StopAsyncIteration
        try:
            data = await self._reader.next_data()
        except HTTPError:
            raise UpstreamFailed(BROKE_OFF) from None
        if data is None:
            raise UpstreamFailed("The provider closed the stream before it was complete.")
        if data == b"[DONE]":
            self._done = True
            raise StopAsyncIteration
        return self._chunk(data)

    def ready(self) -> bool:
        return self._reader.ready()

    def _chunk(self, data: bytes) -> Chunk:
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise UpstreamFailed("The provider sent an event that is not JSON.") from None
        if not isinstance(chunk, dict):
            raise UpstreamFailed(WRONG_SHAPE)
        if "error" in chunk:
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else error
            detail = self._redactor.clean(message if isinstance(message, str) else "")
            raise UpstreamFailed(
                "The provider reported an error" + (f": {detail}" if detail else ".")
            )
        for field in _OWN_FIELDS:
            chunk.pop(field, None)
        usage = chunk.get("usage")
        if usage is not None:
            chunk["usage"] = usage_from_chat(usage)
        return checked_chunk(chunk)

    async def aclose(self) -> None:
        if self._done and not self._response.complete:
            # After [DONE] only the end of the body is left: read it, so that the
            # connection goes back to the pool instead of being dropped.
            with contextlib.suppress(TimeoutError, HTTPError):
                async with asyncio.timeout(_DRAIN_SECONDS):
                    await self._reader.drain()
        # Returns a fully read connection to the pool; closes any other, which is what
        # tells the provider to stop when the client went away.
        self._response.release()
