"""Init, SnapStart, shutdown, and the ways `bootstrap` is started."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT, StartRuntime, function_url_event, split_prelude, startup_report
from .runtime_api_emulator import RuntimeApiEmulator


def echo(emulator: RuntimeApiEmulator) -> dict[str, object]:
    result = emulator.invoke(function_url_event("/echo"))
    document: dict[str, object] = json.loads(split_prelude(result.body)[1])
    return document


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("failing_import.app", "RuntimeError", "GATEWAY_API_KEYS is not set"),
        (
            "no_such_module.app",
            "Runtime.ImportModuleError",
            "Unable to import module 'no_such_module': No module named 'no_such_module'",
        ),
        ("streaming_app.nope", "Runtime.HandlerNotFound", "Handler 'nope' missing on module"),
        ("streaming_app.lambda_handler", "Runtime.HandlerNotFound", "must be an ASGI app"),
        ("streaming_app", "Runtime.MalformedHandlerName", "Bad handler 'streaming_app'"),
    ],
)
def test_init_failure_is_reported_and_the_process_exits(
    emulator: RuntimeApiEmulator,
    start_runtime: StartRuntime,
    handler: str,
    error_type: str,
    message: str,
) -> None:
    runtime = start_runtime(handler)

    assert runtime.wait() == 1
    [report] = emulator.init_errors
    assert report.headers["lambda-runtime-function-error-type"] == error_type
    assert report.body["errorType"] == error_type
    assert message in report.body["errorMessage"]
    assert report.body["requestId"] == ""
    assert isinstance(report.body["stackTrace"], list)
    assert "GET /2018-06-01/runtime/invocation/next" not in emulator.journal


def test_snapstart_runs_hooks_around_restore_next(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime, tmp_path: Path
) -> None:
    # GIVEN hooks registered before-1, before-2, after-1, after-2, and a held restore
    hook_log = tmp_path / "hooks.log"
    emulator.release_restore.clear()
    env = {"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start", "HOOK_LOG": str(hook_log)}
    start_runtime("snapstart_app.app", env=env)

    # WHEN the runtime asks for restore/next, the before-snapshot hooks have run, reversed
    assert emulator.restore_requested.wait(10)
    assert hook_log.read_text().split() == ["before-2", "before-1"]
    assert emulator.journal == ["GET /2018-06-01/runtime/restore/next"]

    # THEN after the restore, the after-restore hooks run in order, then invocations
    emulator.release_restore.set()
    assert echo(emulator)["invocations"] == 1
    assert hook_log.read_text().split() == ["before-2", "before-1", "after-1", "after-2"]
    assert emulator.journal[:2] == [
        "GET /2018-06-01/runtime/restore/next",
        "GET /2018-06-01/runtime/invocation/next",
    ]


@pytest.mark.parametrize(
    ("failing_hook", "exit_code", "error_type"),
    [("before-1", 64, "Runtime.BeforeSnapshotError"), ("after-2", 65, "Runtime.AfterRestoreError")],
)
def test_snapstart_hook_failure_is_reported(
    emulator: RuntimeApiEmulator,
    start_runtime: StartRuntime,
    tmp_path: Path,
    failing_hook: str,
    exit_code: int,
    error_type: str,
) -> None:
    env = {
        "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
        "HOOK_LOG": str(tmp_path / "hooks.log"),
        "FAIL_HOOK": failing_hook,
    }
    runtime = start_runtime("snapstart_app.app", env=env)

    assert runtime.wait() == exit_code
    reports = emulator.init_errors if exit_code == 64 else emulator.restore_errors
    [report] = reports
    assert report.headers["lambda-runtime-function-error-type"] == error_type
    assert report.body["errorMessage"] == f"hook {failing_hook} failed"


def test_without_snapstart_no_restore_handshake(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime, tmp_path: Path
) -> None:
    hook_log = tmp_path / "hooks.log"
    start_runtime("snapstart_app.app", env={"HOOK_LOG": str(hook_log)})

    assert echo(emulator)["invocations"] == 1
    assert not hook_log.exists()
    assert not any("restore" in line for line in emulator.journal)


def test_sigterm_runs_the_lifespan_shutdown(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime, tmp_path: Path
) -> None:
    shutdown_log = tmp_path / "shutdown.log"
    runtime = start_runtime("streaming_app.app", env={"SHUTDOWN_LOG": str(shutdown_log)})
    echo(emulator)  # started, and waiting for the next event

    runtime.terminate()

    assert runtime.wait() == 0
    assert shutdown_log.read_text() == "lifespan.shutdown\n"


def test_started_without_arguments_uses_python3_from_path(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime, bare_python: Path
) -> None:
    start_runtime("streaming_app.app", args=())
    assert startup_report(emulator)["executable"] == str(bare_python.parent / "python3")


def test_the_built_layer_serves_from_its_own_directory(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime, tmp_path: Path
) -> None:
    # GIVEN the layer as `sam build` makes it (BuildMethod: makefile)
    artifacts = tmp_path / "opt"
    subprocess.run(
        ["make", "-s", "build-StreamingRuntimeLayer", f"ARTIFACTS_DIR={artifacts}"],
        cwd=ROOT / "layers" / "streaming-runtime",
        check=True,
    )
    files = sorted(str(path.relative_to(artifacts)) for path in artifacts.rglob("*"))
    assert "bootstrap" in files
    assert "python/streaming_runtime/loop.py" in files
    assert not [name for name in files if "__pycache__" in name or name.endswith(".pyc")]

    # WHEN its bootstrap runs (as /opt/bootstrap would)
    start_runtime("streaming_app.app", bootstrap=artifacts / "bootstrap")

    # THEN it serves, with the package from the built layer, not from the source tree
    sys_path = startup_report(emulator)["sys_path"]
    assert str(artifacts / "python") in sys_path
    assert str(ROOT / "layers" / "streaming-runtime" / "python") not in sys_path
