"""Direct provider for OpenAI-compatible upstreams (OpenAI, Groq, vLLM, Ollama, ...).

No translation is needed, so each upstream event is parsed once with orjson and handed
on: this is the gateway's fast path. Its HTTP client is aiohttp (already in the
dependencies for LiteLLM), whose parser is in C and hands over everything that arrived
in one read: a burst of events costs one read, and the event stream sends it in one write
(`benchmarks/clients.py` measured 2 against 11 us of CPU per event for httpx).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
import orjson

from gateway.config import Settings
from gateway.errors import GatewayError, UpstreamFailed, UpstreamTimeout
from gateway.providers.base import Chunk, UpstreamRequest
from gateway.providers.chunk_shape import WRONG_SHAPE, checked_chunk
from gateway.providers.limits import COMPRESSED, is_compressed
from gateway.providers.sse_reader import SSEDataReader
from gateway.providers.upstream_errors import (
    BROKE_OFF,
    NO_ANSWER,
    UNREACHABLE,
    error_for_status,
)
from gateway.redaction import Redactor

OPENAI_API_BASE = "https://api.openai.com/v1"
_MAX_ERROR_BODY = 64 * 1024
_OWN_FIELDS = ("id", "object", "created", "model")
_DRAIN_SECONDS = 0.05


class OpenAICompatibleProvider:
    def __init__(self, settings: Settings, redactor: Redactor) -> None:
        self._settings = settings
        self._redactor = redactor
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        # Created on first use, on the running loop (aiohttp binds it there). Bodies are
        # never inflated (`auto_decompress=False`, compressed ones are refused), and reads
        # are not timed by aiohttp because the stream supervisor owns idle and deadline
        # timeouts. TLS is set up only when an https:// upstream is first connected.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=256, limit_per_host=0),
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=self._settings.connect_timeout_seconds
                ),
                auto_decompress=False,
                trust_env=False,
            )
        return self._session

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
        session = self._http()
        try:
            async with asyncio.timeout(request.timeout_seconds):
                response = await session.post(
                    url, data=orjson.dumps(body), headers=headers, allow_redirects=False
                )
                if response.status != 200:
                    raise await _status_error(response, self._redactor)
                if is_compressed(response.headers):
                    response.close()
                    raise UpstreamFailed(COMPRESSED)
        except TimeoutError:  # aiohttp's connect timeouts are TimeoutErrors too
            raise UpstreamTimeout(NO_ANSWER) from None
        except aiohttp.ClientError:
            raise UpstreamFailed(UNREACHABLE) from None
        return UpstreamEventStream(response, self._redactor)

    def prepare(self) -> None:
        """Nothing left: importing this module (aiohttp) was the costly part, and the
        session can only be created on the event loop that serves the requests."""

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _status_error(response: aiohttp.ClientResponse, redactor: Redactor) -> GatewayError:
    """Map a non-200 upstream answer to the error the client should see."""
    try:
        raw = b""
        # An error body is never inflated (see `limits`); a compressed one simply has no
        # readable message.
        async for part in response.content.iter_any():
            raw += part
            if len(raw) > _MAX_ERROR_BODY:
                break
    finally:
        response.close()
    detail = redactor.clean(_error_message(raw))
    return error_for_status(response.status, detail, response.headers.get("retry-after"))


def _error_message(raw: bytes) -> str:
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    return message if isinstance(message, str) else ""


class UpstreamEventStream:
    """The upstream's SSE events as chunks; ends at `data: [DONE]`."""

    __slots__ = ("_done", "_reader", "_redactor", "_response")

    def __init__(self, response: aiohttp.ClientResponse, redactor: Redactor) -> None:
        self._response = response
        self._reader = SSEDataReader(response.content.iter_any())
        self._redactor = redactor
        self._done = False

    def __aiter__(self) -> UpstreamEventStream:
        return self

    async def __anext__(self) -> Chunk:
        if self._done:
            raise StopAsyncIteration
        try:
            data = await self._reader.next_data()
        except aiohttp.ClientError:
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
        return checked_chunk(chunk)

    async def aclose(self) -> None:
        if self._done and not self._response.closed:
            # After [DONE] only the end of the body is left: read it, so that the
            # connection goes back to the pool instead of being dropped.
            with contextlib.suppress(TimeoutError, aiohttp.ClientError):
                async with asyncio.timeout(_DRAIN_SECONDS):
                    await self._reader.drain()
        # Returns a fully read connection to the pool; closes any other, which is what
        # tells the provider to stop when the client went away.
        self._response.release()
