"""What the layer's `bootstrap` runs: the process from start to exit.

The path setup of the managed runtime's `bootstrap.py`, its logging, then init; every init
failure, including a missing Mangum or an import error in this runtime, is logged and
posted to `/init/error` before the process exits 1, as `awslambdaric` does. Until init
succeeds only the standard library is imported from here, so nothing can fail unreported.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NoReturn

from streaming_runtime import logs, paths
from streaming_runtime.errors import Fault, error_document
from streaming_runtime.runtime_api import RuntimeApi

if TYPE_CHECKING:
    from mangum import Mangum

Serve = Callable[[RuntimeApi, "Mangum"], Awaitable[int]]


def main() -> NoReturn:
    paths.set_up()
    logs.install()
    api = RuntimeApi(os.environ["AWS_LAMBDA_RUNTIME_API"])
    # Set before the app's import, so code that asks for "the" loop then gets this one.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        serve, served = load()
    except Exception as exc:
        document = error_document(exc)
        logs.log_error(document)
        loop.run_until_complete(api.post_init_error(document))
        sys.exit(1)
    sys.exit(loop.run_until_complete(serve(api, served)))


def load() -> tuple[Serve, Mangum]:
    """The runtime's own modules (they import Mangum, from the task root or a layer) and
    the app `_HANDLER` names."""
    try:
        from streaming_runtime import handler, loop
    except ImportError as exc:
        message = f"Unable to import the streaming runtime: {exc}"
        raise Fault("Runtime.ImportModuleError", message) from exc
    return loop.serve, handler.load(os.environ.get("_HANDLER", ""))
