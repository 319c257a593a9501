"""Reads the `data` of server-sent events from a byte stream.

Hand-written because httpx offers only text lines: decoding every line to `str` and
splitting it costs time on each chunk, while the gateway needs just each event's data, as
bytes, for `orjson.loads`. It follows the SSE rules that matter for chat completions:
events end with a blank line, any of `\\r\\n`, `\\r`, `\\n` ends a line, several `data:`
lines join with `\\n`, one space after the colon is dropped, other fields are ignored.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator

from gateway.errors import UpstreamFailed
from gateway.providers.limits import MAX_EVENT_BYTES, TOO_LARGE


def event_data(event: bytes) -> bytes | None:
    """The data of one event (its lines joined), or None when it has no data field."""
    if event.startswith(b"data: ") and b"\n" not in event:
        return event[6:]  # the usual shape: one data line
    data = [
        line[6:] if line.startswith(b"data: ") else line[5:]
        for line in event.split(b"\n")
        if line.startswith(b"data:")
    ]
    return b"\n".join(data) if data else None


class SSEDataReader:
    """The data of each event, in order, from pieces of a byte stream.

    An unfinished event is kept as a list of pieces and joined only once its end has
    arrived, and only the new piece (with the byte before it) is searched for that end:
    an event trickled in small reads costs time in proportion to its size, not its
    square (one 8 MiB event in 4 KiB reads would otherwise take seconds of CPU).
    """

    __slots__ = ("_held_cr", "_pending", "_pending_size", "_pieces", "_ready")

    def __init__(self, pieces: AsyncIterator[bytes]) -> None:
        self._pieces = pieces
        self._pending: list[bytes] = []
        """The unfinished event's pieces, line ends normalised to \\n."""
        self._pending_size = 0
        self._held_cr = False
        """A piece ended in \\r: the first half of a \\r\\n split across reads, perhaps."""
        self._ready: deque[bytes] = deque()

    async def next_data(self) -> bytes | None:
        """The next event's data; None once the byte stream has ended."""
        while not self._ready:
            piece = await anext(self._pieces, None)
            if piece is None:
                if not self._held_cr:
                    return None
                self._feed(b"", final=True)  # a held \r was a line end after all
                if not self._ready:
                    return None
            else:
                self._feed(piece, final=False)
        return self._ready.popleft()

    def _feed(self, piece: bytes, final: bool) -> None:
        if self._held_cr:
            piece, self._held_cr = b"\r" + piece, False
        if b"\r" in piece:
            if piece.endswith(b"\r") and not final:
                piece, self._held_cr = piece[:-1], True
            piece = piece.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        ends_event = b"\n\n" in piece or (
            piece.startswith(b"\n") and self._pending and self._pending[-1].endswith(b"\n")
        )
        if not ends_event:
            if piece:
                self._pending.append(piece)
                self._pending_size += len(piece)
                if self._pending_size > MAX_EVENT_BYTES:
                    raise UpstreamFailed(TOO_LARGE)
            return
        buffer = b"".join(self._pending) + piece if self._pending else piece
        *events, rest = buffer.split(b"\n\n")
        if len(rest) > MAX_EVENT_BYTES:
            raise UpstreamFailed(TOO_LARGE)
        self._pending = [rest] if rest else []
        self._pending_size = len(rest)
        take = self._take
        for event in events:
            data = take(event)
            if data is not None:
                self._ready.append(data)

    _take = staticmethod(event_data)
    """What is kept of each event: its data."""

    def ready(self) -> bool:
        """Whether the next event's data is already read (no waiting for the network)."""
        return bool(self._ready)

    async def drain(self) -> None:
        """Read whatever is left of the byte stream."""
        async for _ in self._pieces:
            pass


def whole_event(event: bytes) -> bytes | None:
    """An event as the provider sent it (line ends normalised), blank line included."""
    return event + b"\n\n" if event else None


class SSEEventReader(SSEDataReader):
    """Whole events, `event:` line and all, for a stream passed on as it came (with the
    same bounds as the data reader)."""

    __slots__ = ()
    _take = staticmethod(whole_event)
