"""Fixtures: the Runtime API emulator, the real `bootstrap` in a subprocess, sample events.

`lambda` is a keyword, so modules here import each other relatively.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from .runtime_api_emulator import RuntimeApiEmulator

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = ROOT / "layers" / "streaming-runtime" / "bootstrap"
APPS = Path(__file__).resolve().parent / "apps"
EVENTS = ROOT / "events"
DELIMITER = b"\x00" * 8


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def function_url_event(path: str, query: str = "", body: str = "{}") -> dict[str, Any]:
    """`events/function-url.json` (AWS's Function URL payload) for another request."""
    event = copy.deepcopy(load_event("function-url.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["rawQueryString"] = query
    event["body"] = body
    return event


def split_prelude(body: bytes) -> tuple[dict[str, Any], bytes]:
    """The prelude JSON and the bytes after the 8 NULs (asserting there are exactly 8)."""
    prelude, delimiter, rest = body.partition(DELIMITER)
    assert delimiter, "no 8-NUL delimiter after the prelude"
    assert b"\x00" not in prelude
    assert not rest.startswith(b"\x00"), "more than 8 NULs after the prelude"
    document: dict[str, Any] = json.loads(prelude)
    return document, rest


class Runtime:
    """A `bootstrap` process; its output goes to a file (read by `log()`)."""

    def __init__(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    def wait(self, timeout: float = 10) -> int:
        return self.process.wait(timeout)

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


StartRuntime = Callable[..., Runtime]


@pytest.fixture
def emulator() -> Iterator[RuntimeApiEmulator]:
    emulator = RuntimeApiEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def start_runtime(emulator: RuntimeApiEmulator, tmp_path: Path) -> Iterator[StartRuntime]:
    """Starts `bootstrap` as Lambda would (interpreter as first argument) against the
    emulator; every process is killed at the end of the test."""
    started: list[Runtime] = []

    def start(
        handler: str,
        *,
        args: Sequence[str] = (sys.executable,),
        bootstrap: Path = BOOTSTRAP,
        env: dict[str, str] | None = None,
    ) -> Runtime:
        environment = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AWS_LAMBDA_RUNTIME_API": emulator.address,
            "LAMBDA_TASK_ROOT": str(APPS),
            "_HANDLER": handler,
            "AWS_LAMBDA_FUNCTION_NAME": "gateway",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/gateway",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/11/26/[$LATEST]0123456789abcdef",
            "PYTHONDONTWRITEBYTECODE": "1",
            **(env or {}),
        }
        log_path = tmp_path / f"runtime-{len(started)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(bootstrap), *args],
                env=environment,
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        runtime = Runtime(process, log_path)
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        runtime.kill()
