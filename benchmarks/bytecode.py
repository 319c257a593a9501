"""Benchmark: a cold start under python3.13 with and without the layer's bytecode.

On Lambda /opt is read-only: a module shipped without bytecode is compiled again at
every cold start. This installs the Dependencies layer's pins for the host's CPython 3.13
(as tests/sam/test_bytecode.py does), then times fresh processes that import the gateway
(the direct path's start) and that also set up LiteLLM (a LiteLLM route's start), on the
tree as the layer shipped before (no bytecode) and compiled as the build now compiles it
(layers/dependencies/bytecode.txt), taking turns. CPU time of the child, median.

    .venv/bin/python benchmarks/bytecode.py [--runs N]    # about two minutes
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "dependencies"))
import build  # noqa: E402

STARTS = {
    "import gateway.app": "import gateway.app",
    "+ LiteLLM set up": (
        "import gateway.app\nfrom gateway.providers.litellm_provider import _litellm\n_litellm()"
    ),
}


def child_cpu_ms(python: str, tree: Path, functions: Path, code: str) -> float:
    """CPU (user + system) of one fresh `python -S -c code` with only `tree` and the
    gateway importable and no bytecode written, as on Lambda."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": f"{tree}{os.pathsep}{functions}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(tree.parent),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([python, "-S", "-c", code], env=env, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    python = build.python313()
    if python is None:
        sys.exit("needs a CPython 3.13 ($PYTHON313, python3.13 or pyenv's)")
    with tempfile.TemporaryDirectory() as scratch:
        plain = Path(scratch) / "plain" / "python"
        subprocess.run(
            [python, str(ROOT / "layers/dependencies/build.py"), "install", str(plain), "--host"],
            check=True,
            capture_output=True,
        )
        compiled = Path(scratch) / "compiled" / "python"
        shutil.copytree(plain, compiled, symlinks=True)
        modules = build.compile_bytecode(compiled, python)
        # The gateway's own code, as the function artifact ships it: without bytecode.
        functions = Path(scratch) / "functions"
        shutil.copytree(build.FUNCTIONS, functions, ignore=shutil.ignore_patterns("__pycache__"))
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(runs):
            for start, code in STARTS.items():
                for label, tree in (("without", plain), ("with", compiled)):
                    cpu = child_cpu_ms(python, tree, functions, code)
                    times.setdefault((start, label), []).append(cpu)
    print(f"\nCold start under {python} ({modules} modules compiled), CPU ms, median of {runs}")
    print(f"{'start':24s} {'without':>9s} {'with':>9s} {'ratio':>7s}")
    for start in STARTS:
        without = statistics.median(times[(start, "without")])
        with_ = statistics.median(times[(start, "with")])
        print(f"{start:24s} {without:9.0f} {with_:9.0f} {with_ / without:7.2f}")


if __name__ == "__main__":
    main()
