"""What a stream has relayed, for settling it when it ends however it ends."""

from __future__ import annotations

from typing import Protocol

from gateway.core.chunks import Chunk, ChunkStream, Usage


class Relayed(Protocol):
    """What a stream has relayed so far, however it ends: a stream is settled from it."""

    usage: Usage | None
    """The usage the provider reported; None: none yet."""
    generated: int
    """Pieces of output relayed, about a token each."""
    usage_complete: bool
    """Whether `usage` counts the whole output; if not, the output is at least
    `generated` and the charge is an estimate."""


class Metered(ChunkStream):
    """`chunks`, counting those that carry choices (about a token each) and keeping the
    usage the provider reports: a stream cut short is charged from these."""

    __slots__ = ("_chunks", "generated", "usage")

    usage_complete = True
    """A chunk stream's usage comes in its last chunks, whole."""

    def __init__(self, chunks: ChunkStream) -> None:
        self._chunks = chunks
        self.generated = 0
        self.usage: Usage | None = None

    async def __anext__(self) -> Chunk:
        chunk = await self._chunks.__anext__()
        if chunk["choices"]:
            self.generated += 1
        usage = chunk.get("usage")
        if usage is not None:
            self.usage = usage
        return chunk

    def ready(self) -> bool:
        return self._chunks.ready()

    async def aclose(self) -> None:
        await self._chunks.aclose()
