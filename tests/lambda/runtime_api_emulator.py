"""A Lambda Runtime API emulator on 127.0.0.1, written to the documented protocol.

It queues events and serves them to `GET /runtime/invocation/next` with the documented
headers, and records what the runtime sends back: buffered responses, streamed ones
(each HTTP chunk with its arrival time, and the trailers; the chunked body is parsed
here, not by http.server), `/error`, `/init/error`, `/restore/next`, `/restore/error`.
"""

from __future__ import annotations

import base64
import json
import queue
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:gateway"


@dataclass(frozen=True)
class Chunk:
    data: bytes
    arrived_at: float  # time.time(), comparable with what the app process records


@dataclass
class Result:
    """What the runtime reported for one invocation."""

    request_id: str
    kind: str  # "response", "error", or "dropped" (the emulator cut the stream)
    headers: dict[str, str]  # names in lower case
    body: bytes
    chunks: list[Chunk] = field(default_factory=list)  # streamed responses only
    trailers: dict[str, str] = field(default_factory=dict)  # names in lower case

    @property
    def streamed(self) -> bool:
        return self.headers.get("lambda-runtime-function-response-mode") == "streaming"

    def json(self) -> Any:
        return json.loads(self.body)

    def error_trailer(self) -> dict[str, Any]:
        """The decoded `Lambda-Runtime-Function-Error-Body` trailer."""
        return json.loads(base64.b64decode(self.trailers["lambda-runtime-function-error-body"]))


@dataclass(frozen=True)
class Report:
    """A POST to `/init/error` or `/restore/error`."""

    headers: dict[str, str]
    body: Any


@dataclass
class _Pending:
    request_id: str
    headers: dict[str, str]
    body: bytes
    drop_after: int | None = None
    done: threading.Event = field(default_factory=threading.Event)
    arrived: list[Chunk] = field(default_factory=list)  # streamed so far, as they arrive
    result: Result | None = None


class RuntimeApiEmulator:
    def __init__(self) -> None:
        self._events: queue.Queue[_Pending] = queue.Queue()
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.journal: list[str] = []  # "METHOD path" of every request, in arrival order
        self.init_errors: list[Report] = []
        self.restore_errors: list[Report] = []
        self.restore_requested = threading.Event()
        self.release_restore = threading.Event()  # cleared by a test to hold restore/next
        self.release_restore.set()
        self.reported = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.emulator = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def address(self) -> str:
        """The value for `AWS_LAMBDA_RUNTIME_API`."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> RuntimeApiEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.release_restore.set()
        self._server.shutdown()
        self._server.server_close()

    def enqueue(
        self,
        event: Any,
        *,
        request_id: str | None = None,
        timeout_ms: int = 30_000,
        trace_id: str | None = None,
        drop_after: int | None = None,
    ) -> str:
        """Queues an event (a JSON value, or raw bytes) and returns its request id.

        `drop_after`: close a streamed response's connection after that many chunks, as
        if the client had gone away.
        """
        request_id = request_id or str(uuid.uuid4())
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        headers = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + timeout_ms),
            "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
            "Lambda-Runtime-Trace-Id": trace_id
            or f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
            "Content-Type": "application/json",
        }
        pending = _Pending(request_id, headers, body, drop_after)
        with self._lock:
            self._pending[request_id] = pending
        self._events.put(pending)
        return request_id

    def result(self, request_id: str, timeout: float = 10) -> Result:
        pending = self._pending[request_id]
        if not pending.done.wait(timeout):
            raise TimeoutError(f"no result for {request_id} within {timeout} s")
        assert pending.result is not None
        return pending.result

    def invoke(self, event: Any, timeout: float = 10, **options: Any) -> Result:
        return self.result(self.enqueue(event, **options), timeout)

    def wait_for_chunk(self, request_id: str, needle: bytes, timeout: float = 10) -> Chunk:
        """The first streamed chunk of `request_id` holding `needle`, once it has arrived
        (while the response may still be streaming)."""
        arrived = self._pending[request_id].arrived
        found: list[Chunk] = []

        def seen() -> bool:
            found[:] = [chunk for chunk in arrived if needle in chunk.data][:1]
            return bool(found)

        self.wait_until(seen, timeout)
        return found[0]

    def wait_until(self, predicate: Any, timeout: float = 10) -> None:
        """Waits until `predicate()` holds; re-checked whenever the runtime reports."""
        with self.reported:
            if not self.reported.wait_for(predicate, timeout):
                raise TimeoutError("the runtime did not report in time")

    # Called by the request handler.

    def _next(self) -> _Pending | None:
        while not self.stopping.is_set():
            try:
                return self._events.get(timeout=0.05)
            except queue.Empty:
                continue
        return None

    def _complete(self, request_id: str, result: Result) -> bool:
        with self._lock:
            pending = self._pending.get(request_id)
            if pending is None or pending.result is not None:
                return False
            pending.result = result
        pending.done.set()
        self._notify()
        return True

    def _notify(self) -> None:
        with self.reported:
            self.reported.notify_all()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    emulator: RuntimeApiEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # a killed runtime is no news


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    @property
    def emulator(self) -> RuntimeApiEmulator:
        emulator: RuntimeApiEmulator = self.server.emulator
        return emulator

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the tests assert on what was recorded

    def do_GET(self) -> None:
        self.emulator.journal.append(f"GET {self.path}")
        if self.path == f"{PREFIX}/invocation/next":
            pending = self.emulator._next()
            if pending is None:
                self._reply(503, {"errorType": "EmulatorStopping"})
            else:
                self._reply_raw(200, pending.headers, pending.body)
        elif self.path == f"{PREFIX}/restore/next":
            self.emulator.restore_requested.set()
            self.emulator._notify()
            self.emulator.release_restore.wait()
            self._reply_raw(200, {}, b"")
        else:
            self._reply(404, {"errorType": "NotFound"})

    def do_POST(self) -> None:
        self.emulator.journal.append(f"POST {self.path}")
        headers = {name.lower(): value for name, value in self.headers.items()}
        path = self.path.removeprefix(PREFIX)
        if path in ("/init/error", "/restore/error"):
            reports = (
                self.emulator.init_errors if path == "/init/error" else self.emulator.restore_errors
            )
            reports.append(Report(headers, json.loads(self._read_body(headers)[0] or b"null")))
            self.emulator._notify()
            self._reply(202, {"status": "OK"})
            return
        parts = path.split("/")  # ["", "invocation", id, "response" | "error"]
        if len(parts) != 4 or parts[1] != "invocation" or parts[3] not in ("response", "error"):
            self._reply(404, {"errorType": "NotFound"})
            return
        pending = self.emulator._pending.get(parts[2])
        drop_after = pending.drop_after if pending else None
        arrived = pending.arrived if pending else None
        body, chunks, trailers = self._read_body(headers, drop_after, arrived)
        if drop_after is not None and len(chunks) >= drop_after:
            self.emulator._complete(parts[2], Result(parts[2], "dropped", headers, body, chunks))
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        result = Result(parts[2], parts[3], headers, body, chunks, trailers)
        if self.emulator._complete(parts[2], result):
            self._reply(202, {"status": "OK"})
        else:
            self._reply(400, {"errorType": "InvalidRequestID"})

    def _read_body(
        self,
        headers: dict[str, str],
        drop_after: int | None = None,
        arrived: list[Chunk] | None = None,
    ) -> tuple[bytes, list[Chunk], dict[str, str]]:
        """`arrived`, if given, receives each chunk as it arrives."""
        if headers.get("transfer-encoding", "").lower() != "chunked":
            return self.rfile.read(int(headers.get("content-length", "0"))), [], {}
        chunks: list[Chunk] = [] if arrived is None else arrived
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                break
            data = self.rfile.read(size)
            chunks.append(Chunk(data, time.time()))
            self.emulator._notify()
            if drop_after is not None and len(chunks) >= drop_after:
                return b"".join(chunk.data for chunk in chunks), chunks, {}
            if self.rfile.readline() != b"\r\n":
                raise ValueError("a chunk must end with CRLF")
        trailers: dict[str, str] = {}
        while (line := self.rfile.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            trailers[name.strip().lower()] = value.strip()
        return b"".join(chunk.data for chunk in chunks), chunks, trailers

    def _reply(self, status: int, document: Any) -> None:
        self._reply_raw(status, {"Content-Type": "application/json"}, json.dumps(document).encode())

    def _reply_raw(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
