"""The runtime's main loop: the app's lifespan startup, the optional SnapStart handshake,
then one event after another, all on ONE asyncio event loop for the life of the process
(apps keep pooled connections bound to it)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal

from mangum import Mangum

from streaming_runtime import logs, snapstart
from streaming_runtime.asgi_bridge import (
    BufferedSink,
    HTTPExchange,
    ResponseSink,
    StreamingSink,
    infer_handler,
    is_function_url,
)
from streaming_runtime.context import LambdaContext
from streaming_runtime.errors import Fault, error_document
from streaming_runtime.lifespan import Lifespan
from streaming_runtime.runtime_api import Invocation, RuntimeApi

logger = logging.getLogger(__name__)


async def serve(api: RuntimeApi, served: Mangum) -> int:
    """Runs until SIGTERM (then the app's lifespan shutdown) or a Runtime API failure."""
    lifespan = Lifespan(served.app, served.lifespan)
    try:
        await lifespan.startup()
    except Exception as exc:
        document = error_document(exc)
        logs.log_error(document)
        await api.post_init_error(document)
        return 1
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
        exit_code = await snapstart.handshake(api)
        if exit_code:
            return exit_code
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    try:
        while True:
            invocation = await api.next_invocation()
            try:
                await handle(api, served, lifespan, invocation)
            except Exception as exc:  # e.g. the Runtime API refused a response: log, go on
                logger.error("Invocation failed: %s", exc, exc_info=exc)
    except asyncio.CancelledError:
        await lifespan.shutdown()
        return 0


async def handle(
    api: RuntimeApi, served: Mangum, lifespan: Lifespan, invocation: Invocation
) -> None:
    request_id = invocation.request_id
    context = LambdaContext(invocation.headers)
    logs.set_request(request_id, context.tenant_id)
    trace_id = invocation.headers.get("lambda-runtime-trace-id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    try:
        try:
            event = json.loads(invocation.body)
        except ValueError as exc:
            raise Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}") from exc
        event_handler = infer_handler(served, event, context)
        scope, body = event_handler.scope, event_handler.body
    except Exception as exc:
        document = error_document(exc, request_id)
        logs.log_error(document)
        await api.post_error(request_id, document)
        return
    if served.lifespan != "off":
        scope["state"] = lifespan.state.copy()
    sink: ResponseSink
    if is_function_url(event):
        sink = StreamingSink(api, request_id)
    else:
        sink = BufferedSink(api, request_id, event_handler)
    await HTTPExchange(request_id, dict(scope), body, sink).run(served.app)
