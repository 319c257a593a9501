"""The answer's thinking blocks, assembled from their pieces (`ThinkingBlockDelta`)."""

from __future__ import annotations

from typing import Any

from gateway.core.chunks import ThinkingBlockDelta


class ThinkingBlocks:
    """Whole blocks in the order they came: a `thinking` block's text joined, its
    signature as sent; a `redacted_thinking` block's data. A piece starts a new block
    when the last one is signed (the signature ends a block), redacted, or of another
    `index`."""

    __slots__ = ("_indexes", "blocks")

    def __init__(self) -> None:
        self.blocks: list[dict[str, Any]] = []
        self._indexes: list[int | None] = []

    def add(self, piece: ThinkingBlockDelta) -> None:
        index = piece.get("index")
        if piece.get("type") == "redacted_thinking":
            self._start({"type": "redacted_thinking", "data": piece.get("data", "")}, index)
            return
        last = self.blocks[-1] if self.blocks else None
        if (
            last is None
            or last["type"] != "thinking"
            or "signature" in last
            or (index is not None and self._indexes[-1] not in (None, index))
        ):
            last = self._start({"type": "thinking", "thinking": ""}, index)
        last["thinking"] += piece.get("thinking") or ""
        if piece.get("signature"):
            last["signature"] = piece["signature"]

    def _start(self, block: dict[str, Any], index: int | None) -> dict[str, Any]:
        self.blocks.append(block)
        self._indexes.append(index)
        return block
