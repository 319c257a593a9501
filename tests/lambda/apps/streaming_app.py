"""A raw ASGI app (no framework) for the runtime tests; `LAMBDA_TASK_ROOT` is this folder.

Routes: /stream (events with delays, or each held until the test creates a file named
after its index in the `gate` folder; each event stamped with its send time), /echo (what the
app was given), /fail-before and /fail-after (errors either side of the first byte),
/receive (does `receive()` report a disconnect before the response is complete?),
/no-response, /log (writes log records), /startup (the process's path and environment).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

Scope = dict[str, Any]
invocations = 0
last_disconnect: dict[str, Any] = {}


async def app(scope: Scope, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
        return
    global invocations
    invocations += 1
    routes = {
        "/stream": stream,
        "/echo": echo,
        "/fail-before": fail_before,
        "/fail-after": fail_after,
        "/receive": receive_semantics,
        "/no-response": no_response,
        "/until-disconnect": until_disconnect,
        "/log": log,
        "/startup": startup,
    }
    await routes.get(scope["path"], echo)(scope, receive, send)


async def lifespan(scope: Scope, receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            scope["state"]["started_on_loop"] = id(asyncio.get_running_loop())
            await send({"type": "lifespan.startup.complete"})
        else:
            log = os.environ.get("SHUTDOWN_LOG")
            if log:
                Path(log).write_text("lifespan.shutdown\n")  # noqa: ASYNC240 (tiny, at exit)
            await send({"type": "lifespan.shutdown.complete"})
            return


async def stream(scope: Scope, receive: Any, send: Any) -> None:
    query = parse_qs(scope["query_string"].decode())
    count, delay = int(query.get("n", ["3"])[0]), float(query.get("delay", ["0.3"])[0])
    gate = query.get("gate", [""])[0]
    await receive()
    headers = [
        (b"content-type", b"text/event-stream"),
        (b"x-multi", b"a"),
        (b"x-multi", b"b"),
        (b"set-cookie", b"session=1; Path=/"),
        (b"set-cookie", b"theme=dark"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for index in range(count):
        if index and gate:
            await released(Path(gate) / str(index))
        elif index:
            await asyncio.sleep(delay)
        event = f"data: {json.dumps({'index': index, 'sent_at': time.time()})}\n\n"
        await send({"type": "http.response.body", "body": event.encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": True})  # skipped
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})


async def released(flag: Path) -> None:
    """Returns once the test has created `flag` (it does when the last event arrived)."""
    while not flag.exists():  # noqa: ASYNC110, ASYNC240 (the test process creates it)
        await asyncio.sleep(0.01)


async def echo(scope: Scope, receive: Any, send: Any) -> None:
    message = await receive()
    context = scope["aws.context"]
    document = {
        "method": scope["method"],
        "path": scope["path"],
        "query_string": scope["query_string"].decode(),
        "headers": {name.decode(): value.decode() for name, value in scope["headers"]},
        "body": message["body"].decode("utf-8", "replace"),
        "has_event": "requestContext" in scope["aws.event"],
        "context": {
            "aws_request_id": context.aws_request_id,
            "invoked_function_arn": context.invoked_function_arn,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "loop_id": id(asyncio.get_running_loop()),
        "state": scope.get("state"),
        "pid": os.getpid(),
        "invocations": invocations,
        "last_disconnect": last_disconnect,
    }
    headers = [
        (b"content-type", b"application/json"),
        (b"x-multi", b"a"),
        (b"x-multi", b"b"),
        (b"set-cookie", b"session=1"),
    ]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(document).encode()})


async def fail_before(scope: Scope, receive: Any, send: Any) -> None:
    await receive()
    raise LookupError("no route to the model")


async def fail_after(scope: Scope, receive: Any, send: Any) -> None:
    await receive()
    start = {"type": "http.response.start", "status": 200, "headers": []}
    await send(start | {"headers": [(b"content-type", b"text/event-stream")]})
    await send({"type": "http.response.body", "body": b"data: partial\n\n", "more_body": True})
    await asyncio.sleep(0.05)
    raise ConnectionError("upstream closed mid-stream")


async def receive_semantics(scope: Scope, receive: Any, send: Any) -> None:
    """Watches `receive()` while streaming, as frameworks do to notice a client leaving."""
    await receive()
    watcher = asyncio.ensure_future(receive())
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"one ", "more_body": True})
    await asyncio.sleep(0.2)
    early = watcher.done()
    await send({"type": "http.response.body", "body": f"early={early}".encode()})
    message = await asyncio.wait_for(watcher, 2)
    last_disconnect.update(type=message["type"], early=early)


async def until_disconnect(scope: Scope, receive: Any, send: Any) -> None:
    """Streams until `receive()` says the client has gone, as a chat stream would."""
    await receive()
    watcher = asyncio.ensure_future(receive())
    await send({"type": "http.response.start", "status": 200, "headers": []})
    sent = 0
    while not watcher.done() and sent < 500:
        await send({"type": "http.response.body", "body": b"x" * 1024, "more_body": True})
        sent += 1
        await asyncio.sleep(0.005)
    last_disconnect.update(type=(await watcher)["type"], sent=sent)


async def log(scope: Scope, receive: Any, send: Any) -> None:
    """An INFO and a WARNING record, and an ERROR with its (multi-line) traceback."""
    await receive()
    logger = logging.getLogger("streaming_app")
    logger.info("hello from the app")
    logger.warning("careful", extra={"tokens": 7})
    try:
        raise ValueError("bad value")
    except ValueError:
        logger.exception("it failed")
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def startup(scope: Scope, receive: Any, send: Any) -> None:
    """What the runtime set up before importing the app."""
    await receive()
    child = subprocess.run(  # noqa: ASYNC221 (a test app: one short child process)
        [sys.executable, "-c", "import snapshot_restore_py; print(snapshot_restore_py.__file__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    document = {
        "sys_path": sys.path,
        "env": {name: os.environ.get(name) for name in ("PYTHONPATH", "TASK_ROOT_PTH")}
        | {"telemetry_fd": os.environ.get("_LAMBDA_TELEMETRY_LOG_FD")},
        "child_imports": child.stdout.strip() or child.stderr.strip().splitlines()[-1],
        "mangum": sys.modules["mangum"].__file__,
        "executable": sys.executable,
    }
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps(document).encode()})


async def no_response(scope: Scope, receive: Any, send: Any) -> None:
    await receive()


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """A plain function handler, which this runtime refuses at init."""
    return {"statusCode": 200}
