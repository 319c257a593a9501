"""A small HTTP/1.1 client for the direct provider: pooled connections, a POST, and a
response body that streams.

Hand-written over asyncio's transports and httptools (llhttp, the C parser uvicorn uses)
because no client library offers both a cheap start and a cheap chunk: aiohttp parses in C
but is slow to import and builds a TLS context when imported, for http:// upstreams too;
httpx parses in Python, at several times the CPU per chunk (`benchmarks/clients.py`
measures all three; docs/performance.md has the figures). It does only what the direct
path needs: no redirects, proxies, cookies or decompression (the gateway asks for
`identity` and refuses anything else).
TLS is set up when the first https:// upstream is connected, once per pool.
"""

from __future__ import annotations

import asyncio
import select
import ssl
import time
from collections.abc import Mapping
from typing import cast
from urllib.parse import urlsplit

import httptools

MAX_FRAMING_BYTES = 64 * 1024
"""The most HTTP that is not body (status line, headers, trailers) accepted in a row."""
_HIGH_WATER = 256 * 1024
"""Body bytes held unread before the connection stops reading (and the provider waits)."""
_IDLE_SECONDS = 15.0
"""How long an idle connection is kept for reuse."""
_MAX_IDLE_PER_ORIGIN = 64

Origin = tuple[str, str, int]
"""Scheme, host, port."""


class HTTPError(Exception):
    """The connection failed, or what came back is not an acceptable HTTP response."""


def _request_head(url: str, headers: Mapping[str, str], length: int) -> tuple[Origin, bytes]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise HTTPError("The provider URL is not an http(s) URL.")
    default_port = 443 if parts.scheme == "https" else 80
    port = port or default_port
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    authority = host if port == default_port else f"{host}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    fields = [("host", authority), ("content-length", str(length)), *headers.items()]
    texts = (target, *(text for field in fields for text in field))
    if " " in target or any(character in text for text in texts for character in "\r\n\0"):
        raise HTTPError("The provider URL or a header holds a line break, space or NUL.")
    lines = [f"POST {target} HTTP/1.1", *(f"{name}: {value}" for name, value in fields)]
    try:
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError:
        raise HTTPError("A header holds a character HTTP/1.1 cannot carry.") from None
    return (parts.scheme, parts.hostname, port), head


class Response:
    """A response whose head has arrived; iterate it for the body, in pieces of whatever
    arrived since the last one. `release()` or `close()` it exactly once."""

    __slots__ = ("_connection", "_pool", "headers", "status")

    def __init__(self, connection: _Connection, pool: ConnectionPool) -> None:
        self._connection = connection
        self._pool = pool
        self.status = connection.status
        self.headers = connection.headers
        """Lower-cased names; repeated headers joined with `, `."""

    def __aiter__(self) -> Response:
        return self

    async def __anext__(self) -> bytes:
        piece = await self._connection.read()
        if not piece:
            raise StopAsyncIteration
        return piece

    @property
    def complete(self) -> bool:
        """The whole body has arrived."""
        return self._connection.complete

    def release(self) -> None:
        """Back to the pool if the body was read to its end; otherwise the connection is
        closed, which is what tells the provider to stop."""
        self._pool.put_back(self._connection)

    def close(self) -> None:
        self._connection.close()


class _Connection(asyncio.Protocol):
    """One connection; one response at a time, fed to httptools as bytes arrive."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.idle_since = 0.0
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self.loop = asyncio.get_running_loop()
        self._head: asyncio.Future[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._body: list[bytes] = []
        self._body_size = 0
        self._framing = 0
        self._paused = False
        self._keep_alive = False
        self._error: HTTPError | None = None
        self.closed = False
        self.status = 0
        self.headers: dict[str, str] = {}
        self.complete = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self._head is None or self.complete:
            self._fail(HTTPError("The server sent data outside a response."))
            return
        self._framing += len(data)  # reset by each piece of body
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(HTTPError("The server switched protocols."))
        except httptools.HttpParserError as exc:
            self._fail(HTTPError(f"Malformed HTTP response ({exc})."))
        if self._framing > MAX_FRAMING_BYTES and not self.complete:
            self._fail(HTTPError("The response head is too large."))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._head is not None and self._head.done() and not self.complete:
            framed = "content-length" in self.headers or "chunked" in self.headers.get(
                "transfer-encoding", ""
            )
            if exc is None and not framed:  # a body that ends where the connection does
                self.complete = True
        if not self.complete:
            self._error = self._error or HTTPError("The server closed the connection.")
        self._wake()

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        previous = self.headers.get(key)
        self.headers[key] = text if previous is None else f"{previous}, {text}"

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self._keep_alive = self._parser.should_keep_alive()  # reset once the message ends
        if self._head is not None and not self._head.done():
            self._head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self._framing = 0
        self._body.append(body)
        self._body_size += len(body)
        if self._body_size > _HIGH_WATER and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self._wake()

    # used by the pool and the response

    async def send(self, head: bytes, body: bytes) -> None:
        """Write the request and wait for the response's head."""
        assert self._transport is not None
        self._head = self.loop.create_future()
        self.status, self.headers, self.complete, self._framing = 0, {}, False, 0
        self._transport.write(head + body)
        try:
            await self._head
        except BaseException:
            self.close()
            raise

    async def read(self) -> bytes:
        """What has arrived of the body since the last read; b"" at its end."""
        while not self._body:
            if self.complete:
                return b""
            if self._error is not None:
                raise self._error
            self._waiter = self.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        body = self._body
        data = body[0] if len(body) == 1 else b"".join(body)
        body.clear()
        self._body_size = 0
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        return data

    def closed_while_idle(self) -> bool:
        """Whether anything (the peer's close, most likely) arrived while the connection sat
        idle that asyncio has not handled yet: it notices only when its loop runs, and on
        Lambda the process is frozen between invocations. One poll(2) that does not wait."""
        socket = self._transport.get_extra_info("socket") if self._transport else None
        if self.closed or socket is None:
            return True
        poller = select.poll()
        poller.register(socket.fileno(), select.POLLIN)
        return bool(poller.poll(0))

    def reusable(self) -> bool:
        return (
            self.complete
            and not self.closed
            and self._error is None
            and not self._body
            and self._keep_alive
        )

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    def _fail(self, error: HTTPError) -> None:
        self._error = self._error or error
        self.close()
        self._wake()

    def _wake(self) -> None:
        if self._head is not None and not self._head.done():
            self._head.set_exception(self._error or HTTPError("No response head."))
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class ConnectionPool:
    """Keep-alive connections by origin, created on the loop that uses them."""

    def __init__(self, connect_timeout: float, tls: ssl.SSLContext | None = None) -> None:
        self._connect_timeout = connect_timeout
        self._idle: dict[Origin, list[_Connection]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        """The loop the idle connections belong to (the one every server here runs)."""
        self._tls = tls
        """None: the system's CA certificates, loaded when first needed."""

    def tls(self) -> ssl.SSLContext:
        """The TLS context (reading the system's CA certificates), made when first needed."""
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response:
        """Send a POST and return once the response's head has arrived.

        Raises `HTTPError` when the connection fails or the answer is not HTTP, and
        TimeoutError when connecting takes longer than the connect timeout.
        """
        origin, head = _request_head(url, headers, len(body))
        connection = self._take_idle(origin) or await self._connect(origin)
        await connection.send(head, body)
        return Response(connection, self)

    def put_back(self, connection: _Connection) -> None:
        idle = self._idle.setdefault(connection.origin, [])
        if connection.reusable() and len(idle) < _MAX_IDLE_PER_ORIGIN:
            connection.idle_since = time.monotonic()
            idle.append(connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        self._drop_idle()

    def _drop_idle(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                if connection.loop is asyncio.get_running_loop():
                    connection.close()
                elif not connection.loop.is_closed():
                    connection.loop.call_soon_threadsafe(connection.close)
        self._idle.clear()

    def _take_idle(self, origin: Origin) -> _Connection | None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a connection works only on the loop it was made on
            self._drop_idle()
            self._loop = loop
        idle = self._idle.get(origin)
        oldest = time.monotonic() - _IDLE_SECONDS
        while idle:
            connection = idle.pop()
            if connection.idle_since > oldest and not connection.closed_while_idle():
                return connection
            connection.close()
        return None

    async def _connect(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        tls = self.tls() if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(origin),
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls is not None else None,
                )
        except OSError as exc:  # refused, unresolvable, TLS failed
            raise HTTPError(f"Could not connect ({type(exc).__name__}).") from exc
        return connection
