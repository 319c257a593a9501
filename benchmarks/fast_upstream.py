"""A lean OpenAI-compatible streaming upstream for the benchmark, in its own process.

`POST .../chat/completions` answers with `max_tokens` chunks (default 2000) in the same
SSE format as `tests/support/fake_upstream.py`: a role chunk, content chunks, a
`finish_reason` chunk, a usage chunk and `data: [DONE]`, one HTTP/1.1 chunk per event.
Each body is rendered once per length and written in one call, so the upstream costs
next to nothing per chunk and every figure measures its client. Prints its port.

`POST .../v1/messages` answers the same in Anthropic's Messages events, and
`POST .../responses` in OpenAI's Responses events (`max_output_tokens` deltas).

Under `/paced/...` the same events are written one at a time, `--interval-ms` apart
(default 1), as a model generating tokens would send them. `--tls CERT KEY` serves HTTPS.

    python benchmarks/fast_upstream.py [--port PORT] [--interval-ms MS] [--tls CERT KEY]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
from functools import cache

DEFAULT_CHUNKS = 2000
_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
)
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
# Token-sized pieces that vary: LiteLLM ends a stream that repeats one chunk 100 times.
_WORDS = (" quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".")


def _event(choices: list[dict[str, object]], **extra: object) -> bytes:
    chunk = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "bench",
        "choices": choices,
        **extra,
    }
    data = b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def _delta(delta: dict[str, str], finish: str | None = None) -> bytes:
    return _event([{"index": 0, "delta": delta, "finish_reason": finish}])


@cache
def render(chunks: int) -> tuple[bytes, ...]:
    """The response for `chunks` content chunks (the first also carries the role): the
    head with the first event, then one HTTP chunk per event, the last ending the body."""
    parts = [_HEAD + _delta({"role": "assistant", "content": "The"})]
    parts += [_delta({"content": _WORDS[i % len(_WORDS)]}) for i in range(1, chunks)]
    parts.append(_delta({}, "stop"))
    usage = {"prompt_tokens": 5, "completion_tokens": chunks, "total_tokens": chunks + 5}
    parts.append(_event([], usage=usage))
    done = b"data: [DONE]\n\n"
    parts.append(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
    return tuple(parts)


def _typed_event(data: dict[str, object]) -> bytes:
    """An SSE event named by its `type` (Anthropic's and OpenAI's Responses events)."""
    event = b"event: %s\ndata: %s\n\n" % (
        str(data["type"]).encode(),
        json.dumps(data, separators=(",", ":")).encode(),
    )
    return b"%x\r\n%s\r\n" % (len(event), event)


@cache
def render_messages(chunks: int) -> tuple[bytes, ...]:
    """The same answer as Anthropic's Messages API streams it: `message_start` (with
    cache usage), a ping, one text block of `chunks` deltas, `message_delta`,
    `message_stop`; the body ends after it."""
    usage = {
        "input_tokens": 5,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 2048,
        "output_tokens": 1,
    }
    message: dict[str, object] = {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "bench",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    start = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    parts = [_HEAD + _typed_event({"type": "message_start", "message": message})]
    parts.append(_typed_event({"type": "ping"}))
    parts.append(_typed_event(start))
    parts += [
        _typed_event(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": _WORDS[i % len(_WORDS)]},
            }
        )
        for i in range(chunks)
    ]
    parts.append(_typed_event({"type": "content_block_stop", "index": 0}))
    delta = {"stop_reason": "end_turn", "stop_sequence": None}
    parts.append(
        _typed_event({"type": "message_delta", "delta": delta, "usage": {"output_tokens": chunks}})
    )
    stop = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    parts.append(b"%x\r\n%s\r\n0\r\n\r\n" % (len(stop), stop))
    return tuple(parts)


@cache
def render_responses(chunks: int) -> tuple[bytes, ...]:
    """The same answer as OpenAI's Responses API streams it: `response.created`,
    `response.in_progress`, one message item with one text part of `chunks` deltas, the
    `.done` events (the full text repeated, as OpenAI does), `response.completed` with
    usage; every event numbered by `sequence_number`. The body ends after it. The
    response says `store: false`, as the benchmark's requests ask."""
    response: dict[str, object] = {
        "id": "resp_bench",
        "object": "response",
        "created_at": 1700000000,
        "status": "in_progress",
        "model": "bench",
        "store": False,
        "output": [],
        "usage": None,
    }
    item: dict[str, object] = {
        "id": "msg_bench",
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    text = "".join(_WORDS[i % len(_WORDS)] for i in range(chunks))
    part = {"type": "output_text", "text": text, "annotations": []}
    done_item = {**item, "status": "completed", "content": [part]}
    where = {"item_id": "msg_bench", "output_index": 0, "content_index": 0}
    usage = {
        "input_tokens": 5,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": chunks,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": chunks + 5,
    }
    completed = {**response, "status": "completed", "output": [done_item], "usage": usage}
    events: list[dict[str, object]] = [
        {"type": "response.created", "response": response},
        {"type": "response.in_progress", "response": response},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.content_part.added", **where, "part": {**part, "text": ""}},
    ]
    events += [
        {"type": "response.output_text.delta", **where, "delta": _WORDS[i % len(_WORDS)]}
        for i in range(chunks)
    ]
    events += [
        {"type": "response.output_text.done", **where, "text": text},
        {"type": "response.content_part.done", **where, "part": part},
        {"type": "response.output_item.done", "output_index": 0, "item": done_item},
        {"type": "response.completed", "response": completed},
    ]
    parts = [
        _typed_event({"type": event.pop("type"), "sequence_number": number, **event})
        for number, event in enumerate(events)
    ]
    parts[0] = _HEAD + parts[0]
    parts[-1] += b"0\r\n\r\n"
    return tuple(parts)


_RENDERERS = {"chat": render, "messages": render_messages, "responses": render_responses}
"""Each API's renderer, by the end of the request's path (`_api`)."""


def _api(path: str) -> str | None:
    if path.endswith("/chat/completions"):
        return "chat"
    if path.endswith("/v1/messages"):
        return "messages"
    if path.endswith("/responses"):
        return "responses"
    return None


@cache
def render_burst(chunks: int, api: str = "chat") -> bytes:
    return b"".join(_RENDERERS[api](chunks))


def _chunk_count(body: bytes) -> int:
    """`max_tokens` (chat, Messages) or `max_output_tokens` (Responses)."""
    try:
        request = json.loads(body)
        value = request.get("max_tokens", request.get("max_output_tokens"))
    except (ValueError, AttributeError):
        return DEFAULT_CHUNKS
    return value if isinstance(value, int) and value > 0 else DEFAULT_CHUNKS


class UpstreamProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive; requests must carry a Content-Length (clients here do)."""

    def __init__(self, interval: float) -> None:
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._interval = interval

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (request := self._take_request()) is not None:
            self._respond(*request)

    def _take_request(self) -> tuple[str, bytes] | None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self._buffer[:end].decode("latin-1")
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if len(self._buffer) < end + 4 + length:
            return None
        body = self._buffer[end + 4 : end + 4 + length]
        self._buffer = self._buffer[end + 4 + length :]
        return head.split(" ", 2)[1], body

    def _respond(self, path: str, body: bytes) -> None:
        assert self._transport is not None
        api = _api(path)
        if api is None:
            self._transport.write(_NOT_FOUND)
        elif path.startswith("/paced/"):
            self._pace(_RENDERERS[api](_chunk_count(body)))
        else:
            self._transport.write(render_burst(_chunk_count(body), api))

    def _pace(self, parts: tuple[bytes, ...]) -> None:
        """Each part at its own time, on a fixed schedule (no drift from late timers)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        transport = self._transport
        assert transport is not None
        for i, part in enumerate(parts):
            loop.call_at(start + i * self._interval, _write_unless_closed, transport, part)


def _write_unless_closed(transport: asyncio.Transport, data: bytes) -> None:
    if not transport.is_closing():
        transport.write(data)


async def serve(port: int, interval: float, tls: ssl.SSLContext | None) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: UpstreamProtocol(interval), "127.0.0.1", port, backlog=512, ssl=tls
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--interval-ms", type=float, default=1.0)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = parser.parse_args()
    tls = None
    if args.tls:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(*args.tls)
    asyncio.run(serve(args.port, args.interval_ms / 1e3, tls))


if __name__ == "__main__":
    main()
