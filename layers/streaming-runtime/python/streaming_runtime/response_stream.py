"""The streamed `/response`: a chunked POST whose body is prelude, 8 NULs, then bytes.

This is the `application/vnd.awslambda.http-integration-response` format that Function
URLs read (Node's `awslambda.HttpResponseStream`, Rust's `lambda_runtime` streaming).
Every write goes out as its own HTTP chunk at once; an error after the first byte can
only be reported in the trailers.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from streaming_runtime.runtime_api import (
    ERROR_TYPE_HEADER,
    RuntimeApi,
    close,
    expect,
    header_safe,
    read_response,
)

HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
ERROR_BODY_TRAILER = "Lambda-Runtime-Function-Error-Body"
DELIMITER = b"\x00" * 8


def encode_prelude(status: int, headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The JSON prelude and its delimiter. `Set-Cookie` values go to `cookies`; repeated
    headers are joined with ", " since the prelude maps a name to one string. JSON
    escapes NUL, so the prelude cannot contain the delimiter."""
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "set-cookie":
            cookies.append(value)
        else:
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
    prelude = {"statusCode": status, "headers": joined, "cookies": cookies}
    return json.dumps(prelude, separators=(",", ":")).encode() + DELIMITER


class ResponseStream:
    """One streaming `POST /runtime/invocation/{id}/response`, open until closed."""

    def __init__(self, path: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._path = path
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, api: RuntimeApi, request_id: str, content_type: str) -> ResponseStream:
        path = f"/invocation/{quote(request_id, safe='')}/response"
        reader, writer = await api.connect()
        headers = {
            "Lambda-Runtime-Function-Response-Mode": "streaming",
            "Transfer-Encoding": "chunked",
            "Trailer": f"{ERROR_TYPE_HEADER}, {ERROR_BODY_TRAILER}",
            "Content-Type": content_type,
        }
        writer.write(api.head("POST", path, headers))
        return cls(path, reader, writer)

    async def write(self, data: bytes) -> None:
        """Sends `data` as one chunk now. Raises OSError once the Runtime API is gone."""
        if data:
            self._writer.write(b"%x\r\n%b\r\n" % (len(data), data))
            await self._writer.drain()

    async def close(self) -> None:
        """Ends the body; the Runtime API answers once it has the whole stream."""
        await self._end(b"0\r\n\r\n")

    async def fail(self, document: Mapping[str, Any]) -> None:
        """Ends the body with the error trailers (`/error` is no longer allowed)."""
        error_type = header_safe(str(document["errorType"]))
        error_body = base64.b64encode(json.dumps(document).encode()).decode()
        trailers = f"{ERROR_TYPE_HEADER}: {error_type}\r\n{ERROR_BODY_TRAILER}: {error_body}\r\n"
        await self._end(b"0\r\n" + trailers.encode("latin-1") + b"\r\n")

    async def abort(self) -> None:
        """Drops the connection without ending the body (nothing more can be sent)."""
        await close(self._writer)

    async def _end(self, last_chunk: bytes) -> None:
        try:
            self._writer.write(last_chunk)
            await self._writer.drain()
            expect(await read_response(self._reader), 202, self._path)
        finally:
            await close(self._writer)
