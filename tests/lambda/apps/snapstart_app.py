"""The streaming test app plus SnapStart hooks that log their order to `$HOOK_LOG`."""

from __future__ import annotations

import os

from snapshot_restore_py import register_after_restore, register_before_snapshot
from streaming_app import app

__all__ = ["app"]


def record(name: str) -> None:
    if os.environ.get("FAIL_HOOK") == name:
        raise RuntimeError(f"hook {name} failed")
    with open(os.environ["HOOK_LOG"], "a") as file:
        file.write(name + "\n")


register_before_snapshot(record, "before-1")
register_before_snapshot(record, "before-2")
register_after_restore(record, "after-1")
register_after_restore(record, "after-2")
