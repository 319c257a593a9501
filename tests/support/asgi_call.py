"""One request to an ASGI app in-process, as a Lambda runtime hands its app an event: no
server or socket in between. `receive` gives the body, then waits for the response to end
and reports the disconnect, as the runtimes do.

Used by cold-start measurements (`benchmarks/run.py`) and checks
(`tests/integration/test_cold_start.py`) in a fresh interpreter, so it imports nothing
that the app has not.
"""

from __future__ import annotations

import asyncio
from typing import Any


async def call(
    app: Any, path: str, body: bytes, headers: list[tuple[bytes, bytes]]
) -> tuple[int, bytes]:
    """POST `body` to `path`; the status and the whole response body."""
    status: list[int] = []
    parts: list[bytes] = []
    done = asyncio.Event()
    asked: list[bool] = []

    async def receive() -> dict[str, Any]:
        if not asked:
            asked.append(True)
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        else:
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("lambda", 443),
    }
    await app(scope, receive, send)
    return status[0], b"".join(parts)
