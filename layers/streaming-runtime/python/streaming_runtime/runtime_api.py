"""A small HTTP/1.1 client for the Lambda Runtime API, on asyncio streams.

On the process's one event loop, so that waiting for the next event never needs a
thread, and so that a streamed response can be framed (chunks, trailers) by hand:
`http.client` cannot send trailers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from streaming_runtime import __version__
from streaming_runtime.errors import RuntimeApiError

API_PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
USER_AGENT = f"streaming-runtime/{__version__}"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes


@dataclass(frozen=True)
class Invocation:
    """One event from `GET /runtime/invocation/next`."""

    request_id: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes


class RuntimeApi:
    """The Runtime API at `AWS_LAMBDA_RUNTIME_API` (`host:port`)."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"AWS_LAMBDA_RUNTIME_API must be host:port, not {address!r}")
        self.address = address
        self._host = host
        self._port = int(port)

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A new connection; one per request keeps the client free of connection state
        (and nothing stale survives a SnapStart snapshot). asyncio sets TCP_NODELAY."""
        return await asyncio.open_connection(self._host, self._port)

    def head(self, method: str, path: str, headers: Mapping[str, str]) -> bytes:
        lines = [f"{method} {API_PREFIX}{path} HTTP/1.1", f"Host: {self.address}"]
        lines += [f"User-Agent: {USER_AGENT}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        reader, writer = await self.connect()
        try:
            all_headers = {"Content-Length": str(len(body)), **(headers or {})}
            writer.write(self.head(method, path, all_headers) + body)
            await writer.drain()
            return await read_response(reader)
        finally:
            await close(writer)

    async def next_invocation(self) -> Invocation:
        response = await self.request("GET", "/invocation/next")
        expect(response, 200, "/invocation/next")
        request_id = response.headers.get("lambda-runtime-aws-request-id", "")
        return Invocation(request_id, response.headers, response.body)

    async def post_response(self, request_id: str, body: bytes) -> None:
        path = f"/invocation/{quote(request_id, safe='')}/response"
        headers = {"Content-Type": "application/json"}
        expect(await self.request("POST", path, body, headers), 202, path)

    async def post_error(self, request_id: str, document: Mapping[str, Any]) -> None:
        path = f"/invocation/{quote(request_id, safe='')}/error"
        await self._post_error(path, document, str(document["errorType"]))

    async def post_init_error(
        self, document: Mapping[str, Any], error_type: str | None = None
    ) -> None:
        await self._post_error("/init/error", document, error_type or str(document["errorType"]))

    async def restore_next(self) -> None:
        """Blocks until the execution environment is restored from a SnapStart snapshot."""
        expect(await self.request("GET", "/restore/next"), 200, "/restore/next")

    async def post_restore_error(self, document: Mapping[str, Any], error_type: str) -> None:
        await self._post_error("/restore/error", document, error_type)

    async def _post_error(self, path: str, document: Mapping[str, Any], error_type: str) -> None:
        body = json.dumps(document).encode()
        headers = {"Content-Type": "application/json", ERROR_TYPE_HEADER: header_safe(error_type)}
        expect(await self.request("POST", path, body, headers), 202, path)


def header_safe(value: str) -> str:
    """A header value cannot hold line breaks or non-Latin-1 characters."""
    latin1 = value.encode("latin-1", "replace").decode("latin-1")
    return latin1.replace("\r", " ").replace("\n", " ")


def expect(response: HttpResponse, status: int, path: str) -> None:
    if response.status != status:
        detail = response.body[:200].decode("utf-8", "replace")
        raise RuntimeApiError(f"{path} answered {response.status}: {detail}")


async def read_response(reader: asyncio.StreamReader) -> HttpResponse:
    """Reads one HTTP/1.1 response (Content-Length, chunked, or until the server closes)."""
    status_line = await reader.readline()
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise RuntimeApiError(f"malformed status line from the Runtime API: {status_line!r}")
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    else:
        body = await reader.read()
    return HttpResponse(int(parts[1]), headers, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while size := int((await reader.readline()).split(b";")[0].strip() or b"0", 16):
        body += await reader.readexactly(size)
        await reader.readline()
    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
        pass  # trailers
    return bytes(body)


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
