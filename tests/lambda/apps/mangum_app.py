"""A Starlette app wrapped in Mangum, as the gateway's `handler` is.

Starlette's StreamingResponse listens on `receive()` while it streams (ASGI spec 2.0)
and stops at the first `http.disconnect`, so an early disconnect would cut the body.
The Mangum settings (excluded headers, lifespan) must carry over to the runtime.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from mangum import Mangum
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, str]]:
    yield {"greeting": "hello from lifespan"}


async def events(request: Request) -> StreamingResponse:
    """Three events; each after the first waits for the test to create a file named after
    its index in the `gate` folder (it does once the previous event arrived)."""
    gate = Path(request.query_params["gate"])

    async def produce() -> AsyncIterator[bytes]:
        for index in range(3):
            while index and not (gate / str(index)).exists():  # noqa: ASYNC110 (another process)
                await asyncio.sleep(0.01)
            yield f"data: {index}\n\n".encode()

    return StreamingResponse(produce(), media_type="text/event-stream")


async def hello(request: Request) -> JSONResponse:
    body = await request.json()
    headers = {"x-secret": "must-not-leave", "x-visible": "yes"}
    return JSONResponse({"greeting": request.state.greeting, "got": body}, headers=headers)


app = Starlette(
    routes=[
        Route("/events", events, methods=["GET", "POST"]),
        Route("/hello", hello, methods=["GET", "POST"]),
    ],
    lifespan=lifespan,
)
handler = Mangum(app, lifespan="auto", exclude_headers=["x-secret"])
