"""The ASGI response that streams a completion, and supervises it while it does.

Hand-written rather than Starlette's `StreamingResponse`, which offers none of what a
gateway stream needs beside the body itself: keep-alive bytes (in the door's format)
while the provider is silent, an idle timeout and an overall deadline that end the
stream with an error event instead of cutting it off, and the same disconnect handling
whatever ASGI version the server announces (Starlette listens for `http.disconnect` only
below ASGI 2.4; at 2.4 it notices a gone client only when a write fails, which a silent
provider never causes). A disconnect cancels the upstream request at once, so no tokens
are paid for in vain.

Timers are re-armed only when they fire, so the per-chunk path does no timer work.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway.core.chunks import EventSource, Usage
from gateway.disconnect import wait_for_disconnect
from gateway.doors.base import EventFormat
from gateway.errors import (
    DEADLINE_MESSAGE,
    GatewayError,
    InternalError,
    UpstreamTimeout,
    idle_message,
)

log = logging.getLogger(__name__)
ItemT = TypeVar("ItemT")
_MAX_COALESCED_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class StreamLimits:
    keepalive_seconds: float
    idle_timeout_seconds: float
    deadline: float
    """`loop.time()` by which the stream must have ended."""


class _State(enum.Enum):
    STREAMING = enum.auto()
    """Relaying chunks: a timer or a disconnect may interrupt it."""
    INTERRUPTED = enum.auto()
    """A timer or a disconnect cancelled the relay; `ended_by` says which."""
    CLOSING = enum.auto()
    """Writing the end (the ending, or an error event): nothing interrupts it any more."""
    REPORTED = enum.auto()
    """The outcome is handed over; at most the last write is left."""


class _ClientGone:
    """The client went away: a disconnect, or a write that failed."""


CLIENT_GONE = _ClientGone()
Ending = GatewayError | _ClientGone
"""Why a stream ended, unless the provider finished it."""


@dataclass(frozen=True, slots=True)
class StreamOutcome:
    """How a stream ended, for the request log."""

    error: GatewayError | None
    disconnected: bool
    first_chunk_at: float | None
    ended_at: float
    chunks: int
    usage: Usage | None


class EventStreamResponse(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        chunks: EventSource[ItemT],
        framer: EventFormat[ItemT],
        limits: StreamLimits,
        headers: dict[str, str],
        on_complete: Callable[[StreamOutcome], Awaitable[None]],
        keep: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    ) -> None:
        """`chunks` are what the provider sends (chunks, or a native protocol's events),
        `framer` the door's format for them; `keep`, if given, gets the format's final body
        before the last byte; `on_complete` the outcome, awaited before it (settlement, the
        request log)."""
        self.status_code = 200
        self.background = None
        self.init_headers({**headers, "cache-control": "no-cache", "x-accel-buffering": "no"})
        self._chunks = chunks
        self._framer = framer
        self._limits = limits
        self._on_complete = on_complete
        self._keep = keep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        run = _StreamRun(
            self._chunks, self._framer, self._limits, self._keep, self._on_complete, send
        )
        await run.run(receive, self.raw_headers)


class _StreamRun(Generic[ItemT]):
    """One streaming response while it runs: a state machine (`_State`) and, once the
    stream ends other than by the provider finishing, what ended it (`ended_by`).

    An interrupt (a timer, a disconnect) cancels the relaying task, the one way to stop
    an `await` on a silent provider at no cost per chunk; `_pump` takes that cancellation
    back (`uncancel`) only in state INTERRUPTED: any other is the server shutting down.
    """

    def __init__(
        self,
        chunks: EventSource[ItemT],
        framer: EventFormat[ItemT],
        limits: StreamLimits,
        keep: Callable[[dict[str, Any]], Awaitable[None]] | None,
        on_complete: Callable[[StreamOutcome], Awaitable[None]],
        send: Send,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None, "an ASGI response runs in a task"
        self._task = task
        self._chunks = chunks
        self._framer = framer
        self._limits = limits
        self._keep = keep
        self._send = send
        self._lock = asyncio.Lock()
        self._state = _State.STREAMING
        self._ended_by: Ending | None = None
        self._last_upstream = self._last_write = self._loop.time()
        self._first_chunk_at: float | None = None
        self._keepalive_task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._on_complete = on_complete

    async def run(self, receive: Receive, headers: list[tuple[bytes, bytes]]) -> None:
        watcher = asyncio.create_task(self._watch_disconnect(receive))
        first_tick = min(self._limits.keepalive_seconds, self._limits.idle_timeout_seconds)
        self._timer = self._loop.call_later(first_tick, self._tick)
        deadline = self._loop.call_at(self._limits.deadline, self._on_deadline)
        try:
            await self._pump(headers)
        finally:
            if self._state is _State.STREAMING or self._state is _State.INTERRUPTED:
                self._state = _State.CLOSING
            deadline.cancel()
            if self._timer is not None:
                self._timer.cancel()
            watcher.cancel()
            if self._keepalive_task is not None:
                self._keepalive_task.cancel()
            await self._chunks.aclose()
            await self._report()  # if the response did not end (a client gone, a shutdown)

    async def _report(self) -> None:
        """Hand the outcome (the request's log line and metrics) over, once. Called before
        the response's final message: on Lambda the environment may be frozen as soon as
        the response has ended, so nothing that matters may come after it."""
        if self._state is _State.REPORTED:
            return
        self._state = _State.REPORTED
        ended_by = self._ended_by
        await self._on_complete(
            StreamOutcome(
                error=ended_by if isinstance(ended_by, GatewayError) else None,
                disconnected=ended_by is CLIENT_GONE,
                first_chunk_at=self._first_chunk_at,
                ended_at=self._loop.time(),
                chunks=self._framer.chunks,
                usage=self._framer.usage,
            )
        )

    async def _pump(self, headers: list[tuple[bytes, bytes]]) -> None:
        """Start the response and relay chunks until the end. The start is inside, so
        that a deadline or a disconnect while it is being sent ends the stream as at any
        other moment."""
        framer = self._framer
        # Events the provider already delivered in one read are sent in one write: this
        # never holds an event back (whatever is pending goes out as soon as the next
        # chunk is not already in hand, even if that chunk frames no event of its own),
        # it only saves a write per event in a burst.
        ready = self._chunks.ready
        pending = self._pending
        try:
            try:
                await self._send({"type": "http.response.start", "status": 200, "headers": headers})
                async for chunk in self._chunks:
                    self._last_upstream = self._loop.time()
                    event = framer.frame(chunk)
                    if event is not None:
                        if self._first_chunk_at is None:
                            self._first_chunk_at = self._last_upstream
                        pending.append(event)
                        self._pending_bytes += len(event)
                    if pending and not (ready() and self._pending_bytes < _MAX_COALESCED_BYTES):
                        await self._write(b"")
                self._state = _State.CLOSING
                await self._finish_in_time()
                ending = framer.ending()
                await self._report()
                await self._write(ending, more_body=False)
            except asyncio.CancelledError:
                if self._state is not _State.INTERRUPTED:
                    raise  # the server is shutting down
                self._task.uncancel()
                if isinstance(self._ended_by, GatewayError):
                    raise self._ended_by from None
                # The client is gone: nothing more to write.
        except GatewayError as error:
            await self._finish_with(error)
        except OSError:
            self._ended_by = CLIENT_GONE  # ASGI 2.4 servers report a gone client this way
        except Exception:
            log.exception("stream failed")
            await self._finish_with(
                InternalError("The gateway failed while streaming the response.")
            )

    async def _finish_in_time(self) -> None:
        """The work that must be done before the last byte (the format's `finish()`, then
        keeping its final body), within the stream's deadline: past it, the stream's
        ending matters more than the work (Lambda would cut the response off)."""
        framer = self._framer
        try:
            async with asyncio.timeout_at(self._limits.deadline):
                await framer.finish()
                if self._keep is not None and framer.final is not None:
                    await self._keep(framer.final)
        except TimeoutError:
            log.warning("work before the stream's end did not finish by its deadline")

    async def _finish_with(self, error: GatewayError) -> None:
        self._state = _State.CLOSING
        self._ended_by = error
        try:
            event = self._framer.error(error)
        except Exception:  # a bug in a door's error event: still end the body
            log.exception("stream failed while framing its error event")
            event = b""
        await self._report()
        with contextlib.suppress(OSError):  # the client left: the outcome is reported
            await self._write(event, more_body=False)

    async def _write(self, data: bytes, more_body: bool = True) -> None:
        """Write `data` after whatever is pending, in one message."""
        if self._pending:
            if data:
                self._pending.append(data)
            data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
            self._pending.clear()
            self._pending_bytes = 0
        async with self._lock:
            await self._send({"type": "http.response.body", "body": data, "more_body": more_body})
        self._last_write = self._loop.time()

    async def _keepalive(self) -> None:
        try:
            await self._write(self._framer.keepalive)
        except OSError:
            self._interrupt(CLIENT_GONE)

    async def _watch_disconnect(self, receive: Receive) -> None:
        await wait_for_disconnect(receive)
        self._interrupt(CLIENT_GONE)

    def _interrupt(self, ending: Ending) -> None:
        """End the relay with `ending`, if it is still relaying."""
        if self._state is not _State.STREAMING:
            return
        self._state = _State.INTERRUPTED
        self._ended_by = ending
        self._task.cancel()

    def _on_deadline(self) -> None:
        self._interrupt(UpstreamTimeout(DEADLINE_MESSAGE))

    def _tick(self) -> None:
        """Send a keep-alive if nothing was written for a while; end an idle stream."""
        if self._state is not _State.STREAMING:
            return
        now = self._loop.time()
        limits = self._limits
        idle_until = self._last_upstream + limits.idle_timeout_seconds
        if now >= idle_until:
            self._interrupt(UpstreamTimeout(idle_message(limits.idle_timeout_seconds)))
            return
        keepalive_due = self._last_write + limits.keepalive_seconds
        if now >= keepalive_due:
            if not self._lock.locked():
                self._last_write = now
                self._keepalive_task = asyncio.create_task(self._keepalive())
            # A write still in progress (a slow client) keeps the connection busy anyway:
            # look again a keep-alive interval from now, not at once.
            keepalive_due = now + limits.keepalive_seconds
        next_tick = min(keepalive_due, idle_until)
        self._timer = self._loop.call_at(max(next_tick, now + 0.001), self._tick)
