"""Validating and translating a large request body where it does not hold up others.

A body of many small items costs pure Python per item: 4 MiB of one-word messages
(140,000 of them) took 0.4-1.3 s to validate and translate, all of it time in which the
event loop answered nothing else. On a thread the same work is interrupted every 5 ms
(the interpreter's switch interval) so that the loop can serve other requests; only a
single call into C holds it longer (the JSON parse, one slice of a pydantic
validation: `gateway.schema`). A small body stays on the loop: a hop to a thread costs
more than its whole validation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from starlette.requests import Request

OFF_LOOP_BYTES = 256 * 1024
"""Bodies above this size are parsed on a thread: about 9,000 small messages, 30-60 ms of
validation on a loaded two-core host."""

T = TypeVar("T")


def note_large(request: Request, size: int) -> None:
    """Record how large the body `request` carries is (its JSON, in bytes), or will be
    once what it names is added (a stored conversation)."""
    request.state.body_bytes = max(size, getattr(request.state, "body_bytes", 0))


async def parse_off_loop(request: Request, parse: Callable[[object], T], body: object) -> T:
    """`parse(body)`, on a thread when the body is large (`note_large`)."""
    if getattr(request.state, "body_bytes", 0) > OFF_LOOP_BYTES:
        return await asyncio.to_thread(parse, body)
    return parse(body)
