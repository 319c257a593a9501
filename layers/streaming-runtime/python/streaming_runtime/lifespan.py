"""The app's ASGI lifespan, once for the process instead of Mangum's once per event.

Startup runs at init (before a SnapStart snapshot), shutdown when Lambda stops the
runtime, so resources an app opens at startup live as long as the event loop does.
Mangum's own `LifespanCycle` does the protocol, so the modes mean what they mean there.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from mangum.protocols.lifespan import LifespanCycle
from mangum.types import ASGI, LifespanMode

logger = logging.getLogger(__name__)


class Lifespan:
    def __init__(self, app: ASGI, mode: LifespanMode) -> None:
        self._app = app
        self._mode = mode
        self._cycle: LifespanCycle | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def state(self) -> dict[str, Any]:
        """What the app put in `scope["state"]` at startup; each request gets a copy."""
        return self._cycle.lifespan_state if self._cycle else {}

    async def startup(self) -> None:
        """Raises `mangum.exceptions.LifespanFailure` if the app reports a failed startup."""
        if self._mode == "off":
            return
        self._cycle = LifespanCycle(self._app, self._mode)
        self._task = asyncio.get_running_loop().create_task(self._cycle.run())
        await self._cycle.startup()

    async def shutdown(self) -> None:
        if self._cycle is None or self._task is None or self._task.done():
            return
        await self._cycle.shutdown()
        await self._task
