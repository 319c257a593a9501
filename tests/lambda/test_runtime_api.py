"""`runtime_api.read_response` on the framings the emulator never sends: chunked bodies
(with extensions and trailers, arriving in pieces) and bodies that end when the server
closes the connection."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from streaming_runtime.errors import RuntimeApiError
from streaming_runtime.runtime_api import Invocation, RuntimeApi

HEAD = b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: req-1\r\n"


def next_invocation_from(pieces: Sequence[bytes]) -> Invocation:
    """`next_invocation` against a server that writes `pieces` (one write each, with a
    pause between) and then closes the connection."""

    async def scenario() -> Invocation:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            for piece in pieces:
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.01)
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            return await RuntimeApi(f"127.0.0.1:{port}").next_invocation()

    return asyncio.run(scenario())


def test_a_chunked_body_is_joined_and_its_trailers_skipped() -> None:
    invocation = next_invocation_from(
        [
            HEAD + b"Transfer-Encoding: chunked\r\n\r\n",
            b'7\r\n{"a": 1\r\n',
            b'3;ext=x\r\n, "',  # a chunk's data and its CRLF in different packets
            b'\r\n6\r\nb": 2}\r\n',
            b"0\r\nX-Trailer: t\r\n\r\n",
        ]
    )

    assert invocation.request_id == "req-1"
    assert invocation.body == b'{"a": 1, "b": 2}'


def test_a_body_without_length_is_read_until_the_server_closes() -> None:
    invocation = next_invocation_from([HEAD + b"\r\n", b'{"event": ', b"true}"])

    assert invocation.body == b'{"event": true}'


def test_a_malformed_status_line_is_a_runtime_api_error() -> None:
    with pytest.raises(RuntimeApiError, match="malformed status line"):
        next_invocation_from([b"garbage\r\n\r\n"])
