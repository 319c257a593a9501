"""The SnapStart handshake, as the managed runtime client (`awslambdaric`) does it.

Before-snapshot hooks run in reverse order of registration, then `restore/next` blocks
until Lambda resumes a snapshot, then after-restore hooks run in order. The hooks live
in `snapshot_restore_py`, which the managed Python runtimes ship in `LAMBDA_RUNTIME_DIR`;
under SnapStart a missing module is a before-snapshot failure, as it is for `awslambdaric`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from streaming_runtime import logs
from streaming_runtime.errors import error_document
from streaming_runtime.runtime_api import RuntimeApi

BEFORE_SNAPSHOT_ERROR = "Runtime.BeforeSnapshotError"
AFTER_RESTORE_ERROR = "Runtime.AfterRestoreError"
Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


async def handshake(api: RuntimeApi) -> int:
    """0 once restored; otherwise the exit code the managed runtime uses (64, 65)."""
    try:
        run_before_snapshot()
        await api.restore_next()
    except Exception as exc:
        document = error_document(exc)
        logs.log_error(document)
        await api.post_init_error(document, BEFORE_SNAPSHOT_ERROR)
        return 64
    try:
        run_after_restore()
    except Exception as exc:
        document = error_document(exc)
        logs.log_error(document)
        await api.post_restore_error(document, AFTER_RESTORE_ERROR)
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
    hooks: list[Hook] = getattr(importlib.import_module("snapshot_restore_py"), getter)()
    return hooks
