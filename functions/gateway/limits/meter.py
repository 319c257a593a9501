"""What a stream has relayed, for settling it when it ends however it ends."""

from __future__ import annotations

from gateway.core.chunks import Chunk, ChunkStream, Usage


class Metered(ChunkStream):
    """`chunks`, counting those that carry choices (about a token each) and keeping the
    usage the provider reports: a stream cut short is charged from these."""

    __slots__ = ("_chunks", "generated", "usage")

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
