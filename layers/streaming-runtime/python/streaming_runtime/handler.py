"""Resolves `_HANDLER` (`module.attribute`) to the `mangum.Mangum` that serves it.

The attribute may be a Mangum, so one handler setting serves both the managed runtime
(buffered, through Mangum) and this runtime, and its settings (base path, text MIME
types, excluded headers, custom handlers, lifespan) are kept; or a bare ASGI app, which
gets Mangum's defaults by being wrapped in `Mangum(app)`.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from typing import Any

from mangum import Mangum

from streaming_runtime.errors import Fault


def load(handler: str) -> Mangum:
    """Imports the handler's module; errors carry the managed runtime's error types."""
    module_name, _, attribute = handler.rpartition(".")
    if not module_name or not attribute:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{handler}'")
    module_name = module_name.replace("/", ".")
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise Fault(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        message = f"Unable to import module '{module_name}': {exc}"
        raise Fault("Runtime.ImportModuleError", message) from exc
    except SyntaxError as exc:
        message = f"Syntax error in module '{module_name}': {exc}"
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise Fault("Runtime.UserCodeSyntaxError", message, trace) from exc
    try:
        target = getattr(module, attribute)
    except AttributeError:
        message = f"Handler '{attribute}' missing on module '{module_name}'"
        raise Fault("Runtime.HandlerNotFound", message) from None
    return serve(target)


def serve(target: Any) -> Mangum:
    """The Mangum for a handler attribute: itself, or a bare ASGI app wrapped in one."""
    if isinstance(target, Mangum):
        return target
    if not _is_asgi_app(target):
        message = "The handler must be an ASGI app or a mangum.Mangum, not a function handler"
        raise Fault("Runtime.HandlerNotFound", message)
    return Mangum(target)


def _is_asgi_app(target: Any) -> bool:
    """An `async def app(scope, receive, send)` or an object with an async `__call__`
    (every framework app and middleware): caught at init, not at the first request."""
    call = target if inspect.isroutine(target) else getattr(target, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(target)
