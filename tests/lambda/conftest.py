"""Fixtures: the Runtime API emulator, the real `bootstrap` in a subprocess, sample events.

`bootstrap` is started as Lambda starts an exec wrapper, `<wrapper> <python>
$LAMBDA_RUNTIME_DIR/bootstrap.py`, with a bare interpreter (a venv holding only Mangum)
and a temporary folder playing `/var/runtime` (holding `snapshot_restore_py`, as the
managed runtime does). Apps that need more (Starlette, the gateway) run on the test
interpreter. `lambda` is a keyword, so modules here import each other relatively.
"""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.util
import json
import os
import shutil
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
MANGUM_AND_DEPENDENCY = ("mangum", "typing_extensions")
TEST_PYTHON = Path(sys.executable)


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


def release_in_turn(
    emulator: RuntimeApiEmulator, request_id: str, gate: Path, markers: Sequence[bytes]
) -> None:
    """For an app that holds event `i` until the file `gate/<i>` exists: creates it once
    the chunk holding `markers[i - 1]` has reached the emulator, so each event is produced
    only after the one before it arrived (a buffering runtime never gets that far)."""
    for index, marker in enumerate(markers[:-1], start=1):
        emulator.wait_for_chunk(request_id, marker)
        (gate / str(index)).touch()


def startup_report(emulator: RuntimeApiEmulator) -> dict[str, Any]:
    """What the test app's `/startup` route reports: `sys.path`, environment, interpreter."""
    result = emulator.invoke(function_url_event("/startup"))
    document: dict[str, Any] = json.loads(split_prelude(result.body)[1])
    return document


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
        return self.log_path.read_bytes().decode("utf-8", "replace")  # CRs kept


StartRuntime = Callable[..., Runtime]


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv's interpreter with Mangum (and its one dependency) only: what the runtime
    may assume of the managed interpreter plus the function's own packages."""
    venv = tmp_path_factory.mktemp("bare-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    pins = [f"{name}=={importlib.metadata.version(name)}" for name in MANGUM_AND_DEPENDENCY]
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", *pins],
        check=True,
        capture_output=True,
    )
    return python


@pytest.fixture(scope="session")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Plays `/var/runtime`: the SnapStart hooks module, and a `bootstrap.py` that must
    never run (the wrapper replaces it)."""
    folder = tmp_path_factory.mktemp("var-runtime")
    spec = importlib.util.find_spec("snapshot_restore_py")
    assert spec is not None
    assert spec.origin is not None
    shutil.copy(spec.origin, folder / "snapshot_restore_py.py")
    (folder / "bootstrap.py").write_text('raise SystemExit("bootstrap.py ran")\n')
    return folder


@pytest.fixture
def emulator() -> Iterator[RuntimeApiEmulator]:
    emulator = RuntimeApiEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def start_runtime(
    emulator: RuntimeApiEmulator, tmp_path: Path, bare_python: Path, runtime_dir: Path
) -> Iterator[StartRuntime]:
    """Starts `bootstrap` as Lambda does, `bootstrap <python> <runtime dir>/bootstrap.py`,
    against the emulator (`args` replaces those two arguments); every process is killed at
    the end of the test."""
    started: list[Runtime] = []

    def start(
        handler: str,
        *,
        python: Path = bare_python,
        args: Sequence[str] | None = None,
        bootstrap: Path = BOOTSTRAP,
        env: dict[str, str] | None = None,
        pass_fds: Sequence[int] = (),
    ) -> Runtime:
        environment = {
            "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AWS_LAMBDA_RUNTIME_API": emulator.address,
            "LAMBDA_RUNTIME_DIR": str(runtime_dir),
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
            if args is None:
                args = (str(python), str(runtime_dir / "bootstrap.py"))
            process = subprocess.Popen(
                [str(bootstrap), *args],
                env=environment,
                pass_fds=pass_fds,
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
