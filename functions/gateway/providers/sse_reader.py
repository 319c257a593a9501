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
    __slots__ = ("_buffer", "_pieces", "_ready")

    def __init__(self, pieces: AsyncIterator[bytes]) -> None:
        self._pieces = pieces
        self._buffer = b""
        self._ready: deque[bytes] = deque()

    async def next_data(self) -> bytes | None:
        """The next event's data; None once the byte stream has ended."""
        while not self._ready:
            piece = await anext(self._pieces, None)
            if piece is None:
                if not self._buffer.endswith(b"\r"):
                    return None
                self._feed(b"", final=True)  # a held \r was a line end after all
                if not self._ready:
                    return None
            else:
                self._feed(piece, final=False)
        return self._ready.popleft()

    def _feed(self, piece: bytes, final: bool) -> None:
        buffer = self._buffer + piece
        held = b""
        if b"\r" in buffer:
            if buffer.endswith(b"\r") and not final:
                # Keep a trailing \r: it may be the first half of a \r\n split across reads.
                buffer, held = buffer[:-1], b"\r"
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *events, rest = buffer.split(b"\n\n")
        self._buffer = rest + held
        if len(self._buffer) > MAX_EVENT_BYTES:
            raise UpstreamFailed(TOO_LARGE)
        for event in events:
            data = event_data(event)
            if data is not None:
                self._ready.append(data)

    def ready(self) -> bool:
        """Whether the next event's data is already read (no waiting for the network)."""
        return bool(self._ready)

    async def drain(self) -> None:
        """Read whatever is left of the byte stream."""
        async for _ in self._pieces:
            pass
