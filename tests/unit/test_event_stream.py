"""The streaming response's supervision: keep-alives, idle timeout, deadline, disconnect.

Driven through its ASGI entry point on a real event loop, with a provider stream the test
feeds and a client that records what it is sent. Tests wait for events (a keep-alive
written, the stream closed), each with a generous overall timeout; the only timings
asserted are lower bounds, which a slow machine cannot break.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.types import Message

from gateway.core.usage import NO_USAGE
from gateway.doors.base import Reply
from gateway.doors.chat import ChunkFramer
from gateway.errors import DEADLINE_MESSAGE, GatewayError, UpstreamFailed, idle_message
from gateway.event_stream import EventStreamResponse, StreamLimits, StreamOutcome
from tests.unit.fed_stream import BurstStream, FedStream, text_chunk

REPLY = Reply(id="chatcmpl-abc", created=1700000000, model="m")
KEEPALIVE = b": keep-alive\n\n"
DONE = b"data: [DONE]\n\n"
PATIENCE = 5.0
"""How long a test waits for something that should happen at once: only a broken
gateway makes it wait that long."""
LONG = 60.0
"""A limit that must not be what ends the stream."""


@dataclass
class Client:
    """The ASGI server's side: what the response sent (with loop times), and a way to go."""

    sent: list[tuple[float, Message]] = field(default_factory=list)
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    fail_writes_after: int | None = None
    """Raise `OSError` on body writes after this many (a client gone, as ASGI 2.4 says)."""

    async def send(self, message: Message) -> None:
        limit = self.fail_writes_after
        writing = message["type"] == "http.response.body"
        if writing and limit is not None and len(self.bodies()) >= limit:
            raise OSError("the client went away")
        self.sent.append((asyncio.get_running_loop().time(), message))
        self.changed.set()

    async def receive(self) -> Message:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    def bodies(self) -> list[bytes]:
        return [m["body"] for _, m in self.sent if m["type"] == "http.response.body"]

    def raw(self) -> bytes:
        return b"".join(self.bodies())

    async def until(self, predicate: Callable[[], bool]) -> None:
        async def wait() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(wait(), PATIENCE)


@dataclass
class Run:
    client: Client
    stream: FedStream
    task: asyncio.Task[None]
    outcomes: list[StreamOutcome]

    async def finished(self) -> StreamOutcome:
        await asyncio.wait_for(self.task, PATIENCE)
        assert len(self.outcomes) == 1
        return self.outcomes[0]


def start(
    stream: FedStream,
    *,
    keepalive: float = LONG,
    idle: float = LONG,
    seconds_left: float = LONG,
    client: Client | None = None,
) -> Run:
    """Starts serving `stream` as a chat-completions event stream (in a task)."""
    loop = asyncio.get_running_loop()
    client = client or Client()
    outcomes: list[StreamOutcome] = []

    async def report(outcome: StreamOutcome) -> None:
        outcomes.append(outcome)

    response = EventStreamResponse(
        stream,
        ChunkFramer(REPLY, include_usage=False),
        StreamLimits(keepalive, idle, loop.time() + seconds_left),
        {"x-request-id": REPLY.id},
        on_complete=report,
    )
    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions"}
    task = loop.create_task(response(scope, client.receive, client.send))
    return Run(client, stream, task, outcomes)


def run(main: Callable[[], Any]) -> Any:
    return asyncio.run(asyncio.wait_for(main(), 4 * PATIENCE))


def last_error(client: Client) -> dict[str, Any]:
    """The error event the stream ended with (and it did end: no more body)."""
    assert client.sent[-1][1]["more_body"] is False
    last = client.bodies()[-1]
    assert last.endswith(b"\n\n")
    assert DONE not in client.raw()
    error: dict[str, Any] = json.loads(last.split(b"\n\n")[-2].removeprefix(b"data: "))["error"]
    return error


def test_a_finished_stream_is_start_events_and_done() -> None:
    async def main() -> tuple[Client, StreamOutcome]:
        stream = FedStream(text_chunk("Hi"), text_chunk("!", finish="stop"))
        stream.end()
        served = start(stream)
        return served.client, await served.finished()

    client, outcome = run(main)

    start_message = client.sent[0][1]
    assert start_message["type"] == "http.response.start"
    assert start_message["status"] == 200
    headers = dict(start_message["headers"])
    assert headers[b"content-type"] == b"text/event-stream; charset=utf-8"
    assert headers[b"cache-control"] == b"no-cache"
    assert headers[b"x-request-id"] == REPLY.id.encode()
    assert client.raw().endswith(DONE)
    assert client.raw().count(b"data: {") == 2
    assert client.sent[-1][1]["more_body"] is False
    assert (outcome.error, outcome.disconnected, outcome.chunks) == (None, False, 2)
    assert outcome.first_chunk_at is not None


def test_keepalives_flow_while_the_provider_is_silent() -> None:
    async def main() -> Client:
        stream = FedStream(text_chunk("Hi"))
        served = start(stream, keepalive=0.02)
        await served.client.until(lambda: served.client.bodies().count(KEEPALIVE) >= 3)
        stream.put(text_chunk("!", finish="stop"))
        stream.end()
        await served.finished()
        return served.client

    client = run(main)

    bodies = client.bodies()
    assert bodies[0].startswith(b"data: {")  # keep-alives only once something was silent
    assert bodies.count(KEEPALIVE) >= 3
    events = [body for body in bodies if body != KEEPALIVE]
    assert len(events) == 3
    assert b'"content":"!"' in events[1]
    assert events[2] == DONE


def test_keepalives_do_not_hold_off_the_idle_timeout() -> None:
    async def main() -> tuple[Run, StreamOutcome]:
        stream = FedStream(text_chunk("Hi"))
        served = start(stream, keepalive=0.01, idle=0.2)
        return served, await served.finished()

    served, outcome = run(main)

    error = last_error(served.client)
    assert error["code"] == "gateway_timeout"
    assert error["message"] == idle_message(0.2)
    assert isinstance(outcome.error, GatewayError)
    assert outcome.error.message == idle_message(0.2)
    assert served.stream.closed.is_set()
    error_at = served.client.sent[-1][0]
    assert error_at - served.stream.handed_at[-1] >= 0.2 - 0.005


def test_the_idle_timeout_counts_from_the_providers_last_chunk() -> None:
    async def main() -> Run:
        stream = FedStream(text_chunk("Hi"))
        served = start(stream, idle=1.0)
        await served.client.until(lambda: len(served.client.bodies()) == 1)
        await asyncio.sleep(0.05)
        stream.put(text_chunk(" there"))
        await served.finished()
        return served

    served = run(main)

    assert last_error(served.client)["message"] == idle_message(1.0)
    assert served.client.raw().count(b'"content"') == 2
    error_at = served.client.sent[-1][0]
    assert error_at - served.stream.handed_at[-1] >= 1.0 - 0.005


@pytest.mark.parametrize("provider", ["flowing", "silent"])
def test_the_deadline_ends_the_stream_with_an_error_event(provider: str) -> None:
    async def main() -> tuple[Run, StreamOutcome, float]:
        stream = FedStream(text_chunk("Hi"))

        async def feed() -> None:
            while not stream.closed.is_set():
                stream.put(text_chunk(" more"))
                await asyncio.sleep(0.005)

        feeder = asyncio.create_task(feed()) if provider == "flowing" else None
        started = asyncio.get_running_loop().time()
        served = start(stream, keepalive=0.02 if provider == "silent" else LONG, seconds_left=0.2)
        outcome = await served.finished()
        if feeder is not None:
            feeder.cancel()
        return served, outcome, started

    served, outcome, started = run(main)

    error = last_error(served.client)
    assert (error["code"], error["message"]) == ("gateway_timeout", DEADLINE_MESSAGE)
    assert isinstance(outcome.error, GatewayError)
    assert served.stream.closed.is_set()
    assert served.client.sent[-1][0] - started >= 0.2 - 0.005
    if provider == "flowing":
        assert served.client.raw().count(b" more") > 1


def test_a_disconnect_while_the_provider_is_silent_closes_the_upstream_at_once() -> None:
    async def main() -> tuple[Run, StreamOutcome]:
        stream = FedStream(text_chunk("Hi"))
        served = start(stream)
        await served.client.until(lambda: len(served.client.bodies()) == 1)
        served.client.gone.set()
        outcome = await served.finished()  # not after the 60 s idle timeout
        return served, outcome

    served, outcome = run(main)

    assert served.stream.closed.is_set()
    assert len(served.client.bodies()) == 1  # nothing is written to a client that left
    assert (outcome.disconnected, outcome.error) == (True, None)


def test_a_failed_write_counts_as_a_disconnect() -> None:
    async def main() -> tuple[Run, StreamOutcome]:
        stream = FedStream(text_chunk("Hi"), text_chunk(" there"))
        served = start(stream, client=Client(fail_writes_after=1))
        return served, await served.finished()

    served, outcome = run(main)

    assert served.stream.closed.is_set()
    assert (outcome.disconnected, outcome.error) == (True, None)


def test_a_provider_failure_after_the_first_byte_is_the_doors_error_event() -> None:
    failure = UpstreamFailed("The provider's stream broke off before it was complete.")

    async def main() -> tuple[Run, StreamOutcome]:
        stream = FedStream(text_chunk("partial"))
        stream.fail(failure)
        served = start(stream)
        return served, await served.finished()

    served, outcome = run(main)

    assert served.client.bodies()[-1] == ChunkFramer.error(failure)
    assert served.client.sent[-1][1]["more_body"] is False
    assert outcome.error is failure
    assert served.stream.closed.is_set()


def test_a_gateway_bug_while_streaming_is_a_generic_error_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> Run:
        stream = FedStream(text_chunk("partial"))
        stream.fail(RuntimeError("internal detail /srv/secret"))
        served = start(stream)
        await served.finished()
        return served

    with caplog.at_level(logging.ERROR, logger="gateway.event_stream"):
        served = run(main)

    error = last_error(served.client)
    assert error == {
        "message": "The gateway failed while streaming the response.",
        "type": "server_error",
        "param": None,
        "code": "internal_error",
    }
    assert b"secret" not in served.client.raw()
    assert "internal detail" in caplog.text  # the details go to the log only


def test_a_server_shutdown_cancels_the_stream_and_closes_the_upstream() -> None:
    async def main() -> Run:
        stream = FedStream(text_chunk("Hi"))
        served = start(stream)
        await served.client.until(lambda: len(served.client.bodies()) == 1)
        served.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await served.finished()
        return served

    served = run(main)

    assert served.stream.closed.is_set()
    assert len(served.client.bodies()) == 1
    assert served.outcomes[0].error is None  # the request log still gets its line


@pytest.mark.parametrize(("stream_kind", "writes"), [(BurstStream, 1), (FedStream, 4)])
def test_a_burst_the_provider_delivered_together_is_one_write(
    stream_kind: type[FedStream], writes: int
) -> None:
    async def main() -> Client:
        stream = stream_kind(text_chunk("a"), text_chunk("b"), text_chunk("c", finish="stop"))
        stream.end()
        served = start(stream)
        await served.finished()
        return served.client

    client = run(main)

    assert len(client.bodies()) == writes
    assert client.raw().count(b"data: {") == 3
    assert client.raw().endswith(DONE)


class SlowStart(Client):
    """A server whose `http.response.start` takes a while (the streaming runtime opens
    its connection to the Runtime API there)."""

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            await asyncio.sleep(0.1)
        await super().send(message)


def test_a_deadline_passing_while_the_response_starts_still_ends_with_an_error_event() -> None:
    async def main() -> Run:
        stream = FedStream(text_chunk("Hi"))
        served = start(stream, seconds_left=0.01, client=SlowStart())
        await served.finished()
        return served

    served = run(main)

    assert last_error(served.client)["message"] == DEADLINE_MESSAGE


def test_an_event_is_never_held_back_behind_a_chunk_that_frames_nothing() -> None:
    # "a" and a usage-only chunk arrive together (so "a" may wait to share a write), then
    # the provider goes quiet: "a" must go out now, not with the next chunk or keep-alive.
    async def main() -> Client:
        stream = BurstStream(text_chunk("a"), {"choices": [], "usage": {**NO_USAGE}})
        served = start(stream)
        await served.client.until(lambda: b'"content":"a"' in served.client.raw())
        stream.put(text_chunk("b", finish="stop"))
        stream.end()
        await served.finished()
        return served.client

    client = run(main)

    assert client.raw().endswith(DONE)


class StoringFramer(ChunkFramer):
    """A door format whose work before the last byte (storing the answer) never ends."""

    __slots__ = ()

    async def finish(self) -> None:
        await asyncio.Event().wait()


def test_work_before_the_last_byte_cannot_outlast_the_deadline() -> None:
    async def main() -> Client:
        loop = asyncio.get_running_loop()
        client = Client()
        stream = FedStream(text_chunk("a", finish="stop"))
        stream.end()
        response = EventStreamResponse(
            stream,
            StoringFramer(REPLY, include_usage=False),
            StreamLimits(LONG, LONG, loop.time() + 0.2),
            {},
            on_complete=ignore,
        )
        await asyncio.wait_for(response({"type": "http"}, client.receive, client.send), PATIENCE)
        return client

    client = run(main)

    assert client.raw().endswith(DONE)  # the stream still ends properly


async def ignore(outcome: StreamOutcome) -> None:
    return None


@pytest.mark.parametrize("ending", ["done", "provider error"])
def test_the_outcome_is_logged_before_the_last_byte(ending: str) -> None:
    """On Lambda the environment may be frozen once the response has ended: the request's
    log line and metrics (`on_complete`) come before the final body message."""

    async def main() -> tuple[Client, list[bool]]:
        client = Client()
        ended_when_reported: list[bool] = []

        async def report(outcome: StreamOutcome) -> None:
            ended_when_reported.append(any(not m.get("more_body", True) for _, m in client.sent))

        stream = FedStream(text_chunk("Hi"))
        if ending == "done":
            stream.end()
        else:
            stream.fail(UpstreamFailed("The provider's stream broke off."))
        loop = asyncio.get_running_loop()
        response = EventStreamResponse(
            stream,
            ChunkFramer(REPLY, include_usage=False),
            StreamLimits(LONG, LONG, loop.time() + LONG),
            {},
            on_complete=report,
        )
        scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions"}
        await asyncio.wait_for(response(scope, client.receive, client.send), PATIENCE)
        return client, ended_when_reported

    client, ended_when_reported = run(main)

    assert client.sent[-1][1]["more_body"] is False
    assert ended_when_reported == [False]
