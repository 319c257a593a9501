"""The SnapStart handshake, as the managed runtime client (`awslambdaric`) does it.

Before-snapshot hooks run in reverse order of registration, then `restore/next` blocks
until Lambda resumes a snapshot, then after-restore hooks run in order. The hooks live
in `snapshot_restore_py`, which the managed Python runtimes ship; without it, no hooks.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from streaming_runtime.errors import error_document
from streaming_runtime.runtime_api import RuntimeApi

logger = logging.getLogger(__name__)

BEFORE_SNAPSHOT_ERROR = "Runtime.BeforeSnapshotError"
AFTER_RESTORE_ERROR = "Runtime.AfterRestoreError"
Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


async def handshake(api: RuntimeApi) -> int:
    """0 once restored; otherwise the exit code the managed runtime uses (64, 65)."""
    try:
        run_before_snapshot()
        await api.restore_next()
    except Exception as exc:
        logger.error("Before-snapshot failure: %s: %s", type(exc).__name__, exc, exc_info=exc)
        await api.post_init_error(error_document(exc), BEFORE_SNAPSHOT_ERROR)
        return 64
    try:
        run_after_restore()
    except Exception as exc:
        logger.error("After-restore failure: %s: %s", type(exc).__name__, exc, exc_info=exc)
        await api.post_restore_error(error_document(exc), AFTER_RESTORE_ERROR)
        return 65
    return 0


def run_before_snapshot() -> None:
    hooks = _registry("get_before_snapshot")
    while hooks:  # popped, as awslambdaric does: reverse order, and each runs once
        func, args, kwargs = hooks.pop()
        func(*args, **kwargs)


def run_after_restore() -> None:
    for func, args, kwargs in _registry("get_after_restore"):
        func(*args, **kwargs)


def _registry(getter: str) -> list[Hook]:
    try:
        registry = importlib.import_module("snapshot_restore_py")
    except ImportError:
        return []
    hooks: list[Hook] = getattr(registry, getter)()
    return hooks
