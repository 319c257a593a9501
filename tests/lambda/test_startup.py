"""The start as the managed `bootstrap.py` does it: `sys.path`, site directories,
`PYTHONPATH`, and init failures that all reach `/init/error`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.gateway import gateway_env

from .conftest import APPS, ROOT, TEST_PYTHON, StartRuntime, startup_report
from .runtime_api_emulator import RuntimeApiEmulator

PACKAGE_DIR = ROOT / "layers" / "streaming-runtime" / "python"
VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"
ERROR_DOCUMENT_KEYS = {"errorMessage", "errorType", "requestId", "stackTrace"}


def task_root_with_pth(folder: Path, *lines: str) -> Path:
    """A task root whose only content is a `.pth` file with `lines`."""
    folder.mkdir()
    (folder / "setup.pth").write_text("".join(line + "\n" for line in lines))
    return folder


def test_sys_path_is_the_managed_bootstraps(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime, tmp_path: Path, runtime_dir: Path
) -> None:
    # GIVEN a task root whose .pth file adds the app's folder and runs an import line
    task_root = task_root_with_pth(
        tmp_path / "task",
        str(APPS),
        "import os; os.environ['TASK_ROOT_PTH'] = 'ran'",
    )

    # WHEN the runtime starts the app (importable only through that .pth file)
    start_runtime("streaming_app.app", env={"LAMBDA_TASK_ROOT": str(task_root)})
    document = startup_report(emulator)

    # THEN sys.path starts as bootstrap.py leaves it: task root, layer directories, the
    # interpreter's site-packages, the runtime folder (the package's own folder next)
    assert document["sys_path"][:6] == [
        str(task_root),
        f"/opt/python/lib/{VERSION}/site-packages",
        "/opt/python",
        f"/var/lang/lib/{VERSION}/site-packages",
        str(runtime_dir),
        str(PACKAGE_DIR),
    ]
    assert str(APPS) in document["sys_path"]
    assert document["env"]["TASK_ROOT_PTH"] == "ran"
    # AND child processes find the runtime folder's modules through PYTHONPATH
    assert document["env"]["PYTHONPATH"] == str(runtime_dir)
    assert document["child_imports"] == str(runtime_dir / "snapshot_restore_py.py")


def test_a_function_that_sets_pythonpath_keeps_it_without_layer_directories(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime, tmp_path: Path, runtime_dir: Path
) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()

    start_runtime("streaming_app.app", env={"PYTHONPATH": str(extra)})
    document = startup_report(emulator)

    assert document["sys_path"][:4] == [str(APPS), str(runtime_dir), str(PACKAGE_DIR), str(extra)]
    assert not [entry for entry in document["sys_path"] if entry.startswith(("/opt", "/var/lang"))]
    assert document["env"]["PYTHONPATH"] == str(extra)
    assert "No module named 'snapshot_restore_py'" in document["child_imports"]


def test_mangum_comes_from_the_task_root_first(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime, tmp_path: Path, bare_python: Path
) -> None:
    # GIVEN a function that packages its own Mangum in the task root
    task_root = task_root_with_pth(tmp_path / "task", str(APPS))
    installed = bare_python.parents[1] / "lib" / VERSION / "site-packages" / "mangum"
    shutil.copytree(installed, task_root / "mangum")

    start_runtime("streaming_app.app", env={"LAMBDA_TASK_ROOT": str(task_root)})

    assert startup_report(emulator)["mangum"] == str(task_root / "mangum" / "__init__.py")


def init_error(emulator: RuntimeApiEmulator, error_type: str | None = None) -> dict[str, Any]:
    """The one init error report; its header carries `error_type` (by default the
    document's own)."""
    [report] = emulator.init_errors
    assert set(report.body) == ERROR_DOCUMENT_KEYS
    assert report.body["requestId"] == ""
    assert "GET /2018-06-01/runtime/invocation/next" not in emulator.journal
    body: dict[str, Any] = report.body
    assert report.headers["lambda-runtime-function-error-type"] == (error_type or body["errorType"])
    return body


def test_without_mangum_the_init_fails_with_a_report(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime, tmp_path: Path
) -> None:
    empty_venv = tmp_path / "empty-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(empty_venv)], check=True)

    runtime = start_runtime("streaming_app.app", python=empty_venv / "bin" / "python")

    assert runtime.wait() == 1
    document = init_error(emulator)
    assert document["errorType"] == "Runtime.ImportModuleError"
    assert document["errorMessage"] == (
        "Unable to import the streaming runtime: No module named 'mangum'"
    )


def test_an_error_in_the_runtime_package_itself_is_reported(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime, tmp_path: Path
) -> None:
    # GIVEN a built layer whose main loop module cannot be compiled
    layer = tmp_path / "opt"
    subprocess.run(
        ["make", "-s", "build-StreamingRuntimeLayer", f"ARTIFACTS_DIR={layer}"],
        cwd=ROOT / "layers" / "streaming-runtime",
        check=True,
    )
    (layer / "python" / "streaming_runtime" / "loop.py").write_text("def broken(:\n")

    runtime = start_runtime("streaming_app.app", bootstrap=layer / "bootstrap")

    assert runtime.wait() == 1
    document = init_error(emulator)
    assert document["errorType"] == "SyntaxError"
    assert "loop.py, line 1" in document["errorMessage"]


def test_under_snapstart_a_missing_hooks_module_is_an_init_error(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime, tmp_path: Path
) -> None:
    # GIVEN a runtime folder without snapshot_restore_py
    empty_runtime_dir = tmp_path / "var-runtime"
    empty_runtime_dir.mkdir()
    env = {
        "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
        "LAMBDA_RUNTIME_DIR": str(empty_runtime_dir),
    }

    runtime = start_runtime("streaming_app.app", env=env)

    # THEN no snapshot is taken: the init fails as it does for awslambdaric
    assert runtime.wait() == 64
    document = init_error(emulator, "Runtime.BeforeSnapshotError")
    assert document["errorType"] == "ModuleNotFoundError"
    assert document["errorMessage"] == "No module named 'snapshot_restore_py'"
    assert "GET /2018-06-01/runtime/restore/next" not in emulator.journal


def test_the_gateway_under_snapstart_needs_the_hooks_module(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime, tmp_path: Path
) -> None:
    # GIVEN the gateway, and snapshot_restore_py made unimportable (the test interpreter
    # has it installed; the .pth line hides it as a missing runtime folder would)
    task_root = task_root_with_pth(
        tmp_path / "task",
        str(ROOT / "functions"),
        "import sys; sys.modules['snapshot_restore_py'] = None",
    )
    env = gateway_env("http://127.0.0.1:9/v1", POWERTOOLS_METRICS_DISABLED="true")
    env |= {"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start", "LAMBDA_TASK_ROOT": str(task_root)}

    runtime = start_runtime("gateway.app.handler", python=TEST_PYTHON, env=env)

    # THEN its providers cannot be prepared before the snapshot: the init fails, loudly
    assert runtime.wait() == 1
    document = init_error(emulator)
    assert document["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'gateway.app'" in document["errorMessage"]
    assert "snapshot_restore_py" in document["errorMessage"]
