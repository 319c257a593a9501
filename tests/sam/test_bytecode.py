"""The Dependencies layer ships bytecode for the modules a start imports.

GIVEN the layer's pins installed for a CPython 3.13 on this host (the same `.py` files as
the Lambda artifact's), WHEN a start imports the gateway and sets up LiteLLM, THEN the
modules it loads are those bytecode.txt lists, and once compiled as the build compiles
them, none of their sources is read: a start runs from the bytecode alone.

Needs a CPython 3.13 (`build.py`'s `python313()`: `$PYTHON313`, `python3.13`, or pyenv's);
without one the tests skip, as the build then ships no bytecode.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPENDENCIES = ROOT / "layers" / "dependencies"

sys.path.insert(0, str(DEPENDENCIES))
import build  # noqa: E402

PYTHON313 = build.python313()
pytestmark = [
    pytest.mark.skipif(PYTHON313 is None, reason="no CPython 3.13 on this host"),
    pytest.mark.timeout(600),
]
SOURCE_READ = "raise ImportError('this module was compiled from its source')\n"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The layer's pins installed (and pruned) for the host's 3.13; not compiled."""
    assert PYTHON313 is not None
    site = tmp_path_factory.mktemp("deps313") / "python"
    command = [PYTHON313, str(DEPENDENCIES / "build.py"), "install", str(site), "--host"]
    subprocess.run(command, check=True, timeout=540, capture_output=True)
    return site


def test_the_list_is_what_a_start_imports(tree: Path) -> None:
    assert PYTHON313 is not None
    imported = build.startup_modules(PYTHON313, tree)

    assert "fastapi/applications.py" in imported
    assert "litellm/main.py" in imported
    assert imported == build.bytecode_list(), (
        "bytecode.txt is out of date: run `python3 layers/dependencies/build.py bytecode-list`"
    )


def test_a_start_runs_from_the_bytecode_alone(tree: Path) -> None:
    assert PYTHON313 is not None
    compiled = build.compile_bytecode(tree, PYTHON313)
    assert compiled == len(build.bytecode_list())
    for name in build.bytecode_list():
        (tree / name).write_text(SOURCE_READ)

    start = (
        "import gateway.app\nfrom gateway.providers.litellm_provider import _litellm\n_litellm()\n"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": f"{tree}{os.pathsep}{build.FUNCTIONS}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(tree.parent),
    }
    result = subprocess.run(
        [PYTHON313, "-S", "-c", start], env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr[-3000:]
