"""A fake OpenAI-compatible provider on loopback, scripted per upstream model name.

Raw asyncio HTTP/1.1 so that tests control every byte: it can stream text, tool calls,
reasoning and usage, fail before or in the middle of a stream, stall, send garbage, and
it records each request and the moment its client went away. It answers `/embeddings`
too (`embeddings_answer`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class Hold:
    """Send nothing more until the test sets `released` (or the client goes away): for
    waiting on what the client has seen rather than on the clock."""

    released: threading.Event = field(default_factory=threading.Event)


Step = bytes | Pause | Hold
Ending = Literal["done", "eof", "close", "hang"]


@dataclass
class Script:
    """What the fake answers: a status, then (for 200) the SSE steps and how it ends, or
    `body` whole (as JSON; chunked unless `headers` has a `content-length`).

    Endings: `done` sends `data: [DONE]` and ends the body properly; `eof` ends the
    body properly without `[DONE]`; `close` drops the connection mid-body; `hang` stops
    sending and waits for the client to go away.
    """

    steps: list[Step] = field(default_factory=list)
    ending: Ending = "done"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_headers: float = 0.0
    echo: bool = False
    """Stream back the last user message word by word (for per-request content checks)."""
    embed: bool = False
    """Answer as `/embeddings` does (`embeddings_answer`); the default on that path."""


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    received_at: float
    client_port: int
    """The client's source port: one port for requests on one reused connection."""
    finished_at: float | None = None
    client_gone_at: float | None = None
    sent_events: int = 0


def sse(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    """An upstream chunk with the upstream's own (different) id and model."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return sse(
        {
            "id": "upstream-id",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "upstream-model",
            "choices": choices,
            **extra,
        }
    )


def usage(prompt: int = 5, completion: int = 7) -> bytes:
    return sse(
        {
            "id": "upstream-id",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "upstream-model",
            "choices": [],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }
    )


def text(
    words: Iterable[str],
    *,
    pause: float = 0.0,
    finish: str = "stop",
    with_usage: bool = True,
    ending: Ending = "done",
) -> Script:
    steps: list[Step] = [chunk({"role": "assistant", "content": ""})]
    for word in words:
        if pause:
            steps.append(Pause(pause))
        steps.append(chunk({"content": word}))
    steps.append(chunk({}, finish))
    if with_usage:
        steps.append(usage())
    return Script(steps=steps, ending=ending)


def tool_call(name: str, arguments: str, call_id: str = "call_1") -> Script:
    half = len(arguments) // 2
    return Script(
        steps=[
            chunk(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": call_id,
                            "type": "function",
                            "function": {"name": name, "arguments": ""},
                        }
                    ],
                }
            ),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments[:half]}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments[half:]}}]}),
            chunk({}, "tool_calls"),
            usage(),
        ]
    )


def reasoning(thoughts: Iterable[str], answer: str) -> Script:
    steps: list[Step] = [chunk({"role": "assistant", "content": ""})]
    steps += [chunk({"reasoning_content": t}) for t in thoughts]
    steps += [chunk({"content": answer}), chunk({}, "stop"), usage()]
    return Script(steps=steps)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Script:
    body = json.dumps({"error": {"message": message, "type": "x", "code": None}}).encode()
    return Script(status=status, headers=headers or {}, body=body)


def fake_vector(index: int, dimensions: int) -> list[float]:
    """The fake's vector for input `index`: values exact in float32, so that both forms
    carry the same numbers."""
    return [index + 0.25 + position / 8 for position in range(dimensions)]


def embeddings_answer(request: dict[str, Any]) -> dict[str, Any]:
    """One `fake_vector` per input, of `dimensions` values (3 unless asked), as numbers or
    base64 as `encoding_format` asks; a token per input item."""
    given = request.get("input")
    inputs = [given] if isinstance(given, str) or isinstance(given[0], int) else given
    dimensions = request.get("dimensions") or 3
    data = []
    for index in range(len(inputs)):
        vector: Any = fake_vector(index, dimensions)
        if request.get("encoding_format") == "base64":
            vector = base64.b64encode(array("f", vector).tobytes()).decode()
        data.append({"object": "embedding", "index": index, "embedding": vector})
    tokens = sum(1 if isinstance(one, str) else len(one) for one in inputs)
    return {
        "object": "list",
        "data": data,
        "model": request.get("model"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class FakeUpstream:
    """Runs in its own thread and loop; `url` is its OpenAI-style base URL."""

    def __init__(self) -> None:
        self.scripts: dict[str, Script | list[Script]] = {}
        """Per upstream model: a script, or a list played one per request (the last stays)."""
        self.requests: list[Recorded] = []
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeUpstream:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop
        ).result()
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def last(self) -> Recorded:
        return self.requests[-1]

    def wait_gone(self, timeout: float) -> Recorded:
        """The last request, once its client went away (or the timeout passed)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.last().client_gone_at is None:
            time.sleep(0.01)
        return self.last()

    def _script_for(self, model: str, path: str) -> Script:
        default = Script(embed=True) if path.endswith("/embeddings") else text(["Hello", " world"])
        script = self.scripts.get(model, default)
        if isinstance(script, list):
            return script.pop(0) if len(script) > 1 else script[0]
        return script

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            leftover: bytes | None = b""
            while leftover is not None:
                leftover = await self._one_request(reader, writer, leftover)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, leftover: bytes
    ) -> bytes | None:
        """Serve one request; returns the first byte of the next one, or None to close."""
        head = leftover + await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        record = Recorded(
            path=request_line.split(" ")[1],
            headers=headers,
            body=json.loads(body or b"{}"),
            received_at=time.monotonic(),
            client_port=writer.get_extra_info("peername")[1],
        )
        self.requests.append(record)
        script = self._script_for(record.body.get("model", ""), record.path)
        if script.embed:
            script = replace(
                script, embed=False, body=json.dumps(embeddings_answer(record.body)).encode()
            )
        if script.echo:
            words = str(record.body["messages"][-1]["content"]).split(" ")
            script = text([w if i == 0 else " " + w for i, w in enumerate(words)])
        if script.delay_headers:
            await asyncio.sleep(script.delay_headers)
        extra = "".join(f"{k}: {v}\r\n" for k, v in script.headers.items())
        if script.status == 200 and script.body:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
            if "content-length" in script.headers:
                writer.write(extra.encode("latin-1") + b"\r\n" + script.body)
            else:
                writer.write(b"transfer-encoding: chunked\r\n" + extra.encode("latin-1") + b"\r\n")
                writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(script.body), script.body))
            await writer.drain()
            record.finished_at = time.monotonic()
            return b""
        if script.status != 200:
            writer.write(
                f"HTTP/1.1 {script.status} {_REASONS.get(script.status, 'Error')}\r\n"
                f"content-type: application/json\r\ncontent-length: {len(script.body)}\r\n"
                f"{extra}\r\n".encode()
                + script.body
            )
            await writer.drain()
            record.finished_at = time.monotonic()
            return b""
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n" + extra.encode("latin-1") + b"\r\n"
        )
        gone = asyncio.ensure_future(reader.read(1))
        try:
            return await self._stream(script, record, writer, gone)
        finally:
            gone.cancel()

    async def _stream(
        self,
        script: Script,
        record: Recorded,
        writer: asyncio.StreamWriter,
        gone: asyncio.Future[bytes],
    ) -> bytes | None:
        def client_left() -> bool:
            if gone.done() and record.client_gone_at is None:
                record.client_gone_at = time.monotonic()
            return record.client_gone_at is not None

        async def write(data: bytes) -> None:
            writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            await writer.drain()

        try:
            for step in script.steps:
                if isinstance(step, Pause):
                    await asyncio.wait({gone}, timeout=step.seconds)
                    if client_left():
                        return None
                    continue
                if isinstance(step, Hold):
                    while not (step.released.is_set() or gone.done()):
                        await asyncio.wait({gone}, timeout=0.005)
                    if client_left():
                        return None
                    continue
                await write(step)
                record.sent_events += 1
            if script.ending == "hang":
                await gone
                client_left()
                return None
            if script.ending == "close":
                return None
            if script.ending == "done":
                await write(b"data: [DONE]\n\n")
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            record.finished_at = time.monotonic()
            # The client keeps the connection for its next request, or closes it.
            return (await gone) or None
        except ConnectionError:
            record.client_gone_at = record.client_gone_at or time.monotonic()
            return None
