"""The direct path's HTTP/1.1 client against raw servers on loopback: what reaches the
server, what the client hands over, when connections are reused, and the bounds it keeps
against a hostile server."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gateway.providers.http1 import MAX_FRAMING_BYTES, ConnectionPool, HTTPError, Response

CHUNKED_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
)
EVENTS = [b"data: one\n\n", b"data: two\n\n", b"data: [DONE]\n\n"]


def chunked(*parts: bytes, end: bool = True) -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts)
    return body + (b"0\r\n\r\n" if end else b"")


Reply = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Server:
    url: str
    requests: list[tuple[int, bytes]] = field(default_factory=list)
    """(client port, request head and body) in arrival order."""
    closed_by_client: asyncio.Event = field(default_factory=asyncio.Event)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head + await reader.readexactly(length)


@asynccontextmanager
async def serve(*replies: Reply | bytes) -> AsyncIterator[Server]:
    """A server answering the n-th request with the n-th reply (bytes, or a coroutine
    that writes itself); keeps each connection open for more requests. When it stops it
    closes the connections the client still keeps alive, as an HTTP server does at
    shutdown: since Python 3.12 `Server.wait_closed` waits for every open connection,
    and a connection in the client's pool stays open until the server ends it."""
    queue = list(replies)
    open_connections: set[asyncio.StreamWriter] = set()
    server: Server

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        open_connections.add(writer)
        port = writer.get_extra_info("peername")[1]
        try:
            while True:
                request = await read_request(reader)
                server.requests.append((port, request))
                reply = queue.pop(0)
                if isinstance(reply, bytes):
                    writer.write(reply)
                    await writer.drain()
                else:
                    await reply(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            server.closed_by_client.set()
        finally:
            open_connections.discard(writer)
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    server = Server(f"http://127.0.0.1:{port}/v1/chat/completions")
    async with listener:
        try:
            yield server
        finally:
            for writer in open_connections:
                writer.close()


async def body(response: Response) -> bytes:
    return b"".join([piece async for piece in response])


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 10))


def test_a_chunked_stream_arrives_whole_and_the_connection_is_reused() -> None:
    async def test() -> None:
        answer = CHUNKED_HEAD + chunked(*EVENTS)
        async with serve(answer, answer) as server:
            pool = ConnectionPool(connect_timeout=5)
            for _ in range(2):
                response = await pool.post(server.url, b'{"a":1}', {"authorization": "Bearer k"})
                assert (response.status, response.headers["content-type"]) == (
                    200,
                    "text/event-stream",
                )
                assert await body(response) == b"".join(EVENTS)
                response.release()
            await pool.aclose()
        (first_port, request), (second_port, _) = server.requests
        assert first_port == second_port
        port = server.url.split(":")[2].split("/")[0]
        assert request == (
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:%s\r\ncontent-length: 7\r\n"
            b"authorization: Bearer k\r\n\r\n"
            b'{"a":1}' % port.encode()
        )

    run(test)


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok",
    ],
    ids=["connection: close", "HTTP/1.0"],
)
def test_a_connection_the_server_will_close_is_not_reused(answer: bytes) -> None:
    async def test() -> None:
        async with serve(answer, answer) as server:
            pool = ConnectionPool(connect_timeout=5)
            for _ in range(2):
                response = await pool.post(server.url, b"{}", {})
                assert await body(response) == b"ok"
                response.release()
        assert server.requests[0][0] != server.requests[1][0]

    run(test)


def test_a_body_released_unread_closes_the_connection() -> None:
    """What tells the provider to stop generating when the client went away."""

    async def test() -> None:
        async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(CHUNKED_HEAD + chunked(EVENTS[0], end=False))
            await reader.read()  # until the client closes

        answer = CHUNKED_HEAD + chunked(*EVENTS)
        async with serve(endless, answer) as server:
            pool = ConnectionPool(connect_timeout=5)
            response = await pool.post(server.url, b"{}", {})
            assert await anext(response) == EVENTS[0]
            response.release()
            await asyncio.wait_for(server.closed_by_client.wait(), 2)
            response = await pool.post(server.url, b"{}", {})
            assert await body(response) == b"".join(EVENTS)
        assert server.requests[0][0] != server.requests[1][0]

    run(test)


def test_a_body_without_framing_ends_with_the_connection() -> None:
    async def test() -> None:
        async def unframed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n")
            writer.write(b"".join(EVENTS))
            writer.close()

        async with serve(unframed) as server:
            response = await ConnectionPool(connect_timeout=5).post(server.url, b"{}", {})
            assert await body(response) == b"".join(EVENTS)
            assert response.complete

    run(test)


def test_a_connection_lost_mid_body_fails_after_what_arrived() -> None:
    async def test() -> None:
        async def broken(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(CHUNKED_HEAD + chunked(EVENTS[0], end=False))
            await writer.drain()
            writer.close()

        async with serve(broken) as server:
            response = await ConnectionPool(connect_timeout=5).post(server.url, b"{}", {})
            assert await anext(response) == EVENTS[0]
            with pytest.raises(HTTPError):
                await anext(response)

    run(test)


FLOOD_BYTES = 128 * 1024 * 1024
"""More than the kernel's socket buffers can hold between the two ends (Linux lets a
loopback receive buffer grow to `tcp_rmem`'s maximum, 32 MiB on some hosts), so a client
that keeps reading is told apart from one that hung up."""


async def flood(prefix: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
    """Send `prefix`, then `FLOOD_BYTES` of `a` without end; the bytes sent before the
    client hung up (what it read, plus what the socket buffers took)."""
    writer.write(prefix)
    sent = 0
    try:
        while sent < FLOOD_BYTES:
            writer.write(b"a" * 65536)
            await writer.drain()
            sent += 65536
    except ConnectionError:
        pass
    return sent


@pytest.mark.parametrize(
    "prefix",
    [b"HTTP/1.1 200 OK\r\nx-endless: ", b"HTTP/1.1 200 OK\r\nx-" + b"h: v\r\nx-" * 100],
    ids=["one endless header", "endless header lines"],
)
def test_an_endless_response_head_is_refused_early(prefix: bytes) -> None:
    async def test() -> None:
        sent: list[int] = []

        async def hostile(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sent.append(await flood(prefix, reader, writer))

        async with serve(hostile) as server:
            with pytest.raises(HTTPError, match="head is too large"):
                await ConnectionPool(connect_timeout=5).post(server.url, b"{}", {})
            await asyncio.wait_for(server.closed_by_client.wait(), 2)
        assert sent[0] < FLOOD_BYTES // 2

    run(test)


def test_an_endless_trailer_is_refused() -> None:
    async def test() -> None:
        async def hostile(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await flood(
                CHUNKED_HEAD + chunked(EVENTS[0], end=False) + b"0\r\nx-t: ", reader, writer
            )

        async with serve(hostile) as server:
            response = await ConnectionPool(connect_timeout=5).post(server.url, b"{}", {})
            with pytest.raises(HTTPError, match="too large"):
                await body(response)

    run(test)


def test_a_long_stream_of_small_chunks_is_not_mistaken_for_an_endless_head() -> None:
    async def test() -> None:
        events = [b"data: %d\n\n" % i for i in range(3 * MAX_FRAMING_BYTES // 8)]
        async with serve(CHUNKED_HEAD + chunked(*events)) as server:
            response = await ConnectionPool(connect_timeout=5).post(server.url, b"{}", {})
            assert await body(response) == b"".join(events)

    run(test)


def test_an_unread_body_makes_the_server_wait() -> None:
    """Backpressure: a provider faster than the client is paused, not buffered."""

    async def test() -> None:
        finished = asyncio.Event()

        async def fast(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(CHUNKED_HEAD)
            for _ in range(512):
                writer.write(chunked(b"x" * 65536, end=False))
                await writer.drain()
            finished.set()

        async with serve(fast) as server:
            response = await ConnectionPool(connect_timeout=5).post(server.url, b"{}", {})
            await asyncio.sleep(0.5)
            assert not finished.is_set()
            response.close()

    run(test)


@pytest.mark.parametrize(
    "answer",
    [b"SSH-2.0-OpenSSH_9.6\r\n", b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n"],
    ids=["not HTTP", "bad content-length"],
)
def test_a_response_that_is_not_http_fails(answer: bytes) -> None:
    async def test() -> None:
        async with serve(answer) as server:
            with pytest.raises(HTTPError, match="Malformed"):
                await ConnectionPool(connect_timeout=5).post(server.url, b"{}", {})

    run(test)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1", {"x-forwarded": "a\r\nx-injected: 1"}),
        ("/v1", {"x-forwarded": "a\nx-injected: 1"}),
        ("/v1", {"x-forwarded\r\nx-injected": "1"}),
        ("/v1", {"x-forwarded": "a\0"}),
        ("/v1 HTTP/1.1\r\nx-injected: 1\r\nx:", {}),
        ("/v1 HTTP/1.0", {}),
        ("/v1", {"x-forwarded": "\u2603"}),
    ],
    ids=[
        "CRLF in a value",
        "LF in a value",
        "CRLF in a name",
        "NUL",
        "CRLF in the URL",
        "space in the URL",
        "non-Latin-1",
    ],
)
def test_a_request_that_could_smuggle_a_header_is_never_sent(
    path: str, headers: dict[str, str]
) -> None:
    async def test() -> None:
        async with serve(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n") as server:
            url = server.url.replace("/v1/chat/completions", path)
            with pytest.raises(HTTPError, match=r"line break|cannot carry"):
                await ConnectionPool(connect_timeout=5).post(url, b"{}", headers)
            await asyncio.sleep(0.1)
        assert server.requests == []

    run(test)


def test_a_refused_connection_fails() -> None:
    async def test() -> None:
        listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        listener.close()
        await listener.wait_closed()
        with pytest.raises(HTTPError, match="Could not connect"):
            await ConnectionPool(connect_timeout=5).post(f"http://127.0.0.1:{port}/", b"", {})

    run(test)


def test_http_never_sets_up_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building a TLS context reads the CA bundle (~20 ms): a cold start to an http://
    provider must not pay for it."""

    def forbidden(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        raise AssertionError("TLS set up for an http:// request")

    monkeypatch.setattr(ssl, "create_default_context", forbidden)

    async def test() -> None:
        async with serve(CHUNKED_HEAD + chunked(*EVENTS)) as server:
            response = await ConnectionPool(connect_timeout=5).post(server.url, b"{}", {})
            assert await body(response) == b"".join(EVENTS)

    run(test)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted", "system CAs"])
def test_https_verifies_the_server(certificate: tuple[Path, Path], trusted: bool) -> None:
    cert, key = certificate

    async def test() -> None:
        server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_tls.load_cert_chain(cert, key)
        answer = CHUNKED_HEAD + chunked(*EVENTS)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await read_request(reader)
                writer.write(answer)
                await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
                pass
            finally:
                writer.close()

        listener = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_tls)
        port = listener.sockets[0].getsockname()[1]
        url = f"https://127.0.0.1:{port}/v1/chat/completions"
        async with listener:
            tls = ssl.create_default_context(cafile=str(cert)) if trusted else None
            pool = ConnectionPool(connect_timeout=5, tls=tls)
            if trusted:
                response = await pool.post(url, b"{}", {})
                assert await body(response) == b"".join(EVENTS)
                response.release()
            else:
                with pytest.raises(HTTPError, match="SSLCertVerificationError"):
                    await pool.post(url, b"{}", {})
            await pool.aclose()

    run(test)


def test_a_pool_used_from_a_new_event_loop_makes_new_connections() -> None:
    answer = CHUNKED_HEAD + chunked(*EVENTS)
    pool = ConnectionPool(connect_timeout=5)
    bodies: list[bytes] = []

    async def fetch(url: str) -> None:
        response = await pool.post(url, b"{}", {})
        bodies.append(await body(response))
        response.release()

    async def test() -> None:
        async with serve(answer, answer) as server:
            await fetch(server.url)
            await asyncio.to_thread(asyncio.run, fetch(server.url))

    run(test)
    assert bodies == [b"".join(EVENTS)] * 2


def test_a_connection_the_server_closed_while_the_loop_was_not_running_is_not_reused() -> None:
    """On Lambda the process is frozen between invocations: a provider that closes an idle
    connection meanwhile (uvicorn-based ones after 5 s) is seen by the socket before the
    event loop has run. The next request must not be sent on it."""
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1/chat/completions"
    peers: list[int] = []
    first_closed = threading.Event()

    def serve_two_connections() -> None:
        for _ in range(2):
            connection, (_, peer) = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(answer)
                peers.append(peer)
                if len(peers) == 2:
                    connection.recv(65536)  # until the client is done
            first_closed.set()

    threading.Thread(target=serve_two_connections, daemon=True).start()
    pool = ConnectionPool(connect_timeout=5)

    async def fetch() -> bytes:
        response = await pool.post(url, b"{}", {})
        answer = await body(response)
        response.release()
        return answer

    loop = asyncio.new_event_loop()
    try:
        first = loop.run_until_complete(asyncio.wait_for(fetch(), 5))
        assert first_closed.wait(5)  # closed by the server while the loop does not run
        second = loop.run_until_complete(asyncio.wait_for(fetch(), 5))
        loop.run_until_complete(pool.aclose())
    finally:
        loop.close()
        listener.close()
    assert [first, second] == [b"ok", b"ok"]
    assert len(set(peers)) == 2
