"""Install the gateway's dependencies for the Lambda target, then prune them.

    python3 build.py install DEST [--host] [--no-prune]
                                             pip install --target DEST, then prune.py
    python3 build.py lock                    re-resolve constraints.txt for the target

The target is the python3.13 arm64 runtime (Amazon Linux 2023, glibc 2.34): pip picks
binary wheels only (`--only-binary=:all:`, so nothing is compiled and no python3.13 is
needed here) for CPython 3.13 on any manylinux aarch64 up to glibc 2.34. pip older than
25 does not expand `manylinux_2_34` to the older tags, hence the explicit list: LiteLLM
ships manylinux_2_28 wheels while orjson ships manylinux2014 only.

`--host` installs the same pins for the Python running this script instead (used by
tests/sam/test_pruning.py to import and run the pruned tree on the build machine).
`--no-compile` everywhere: bytecode from the host's Python is useless on 3.13.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
CONSTRAINTS = HERE / "constraints.txt"

TARGET_PYTHON = "3.13"
TARGET_GLIBC_MINORS = range(17, 35)  # manylinux_2_17 (manylinux2014) .. 2_34 (AL2023)
TARGET_FLAGS = [
    "--only-binary=:all:",
    "--implementation=cp",
    f"--python-version={TARGET_PYTHON}",
    "--platform=manylinux2014_aarch64",
    *(f"--platform=manylinux_2_{minor}_aarch64" for minor in TARGET_GLIBC_MINORS),
]
PIP = [
    sys.executable,
    "-m",
    "pip",
    "install",
    "--disable-pip-version-check",
    "--no-input",
    "--no-compile",
    "--quiet",
]


def install(dest: Path, *, host: bool, prune_tree: bool = True) -> None:
    platform = ["--only-binary=:all:"] if host else TARGET_FLAGS
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [*PIP, *platform, "--target", str(dest), "-r", str(REQUIREMENTS), "-c", str(CONSTRAINTS)],
        check=True,
    )
    if prune_tree:
        sys.path.insert(0, str(HERE))
        from prune import prune

        prune(dest)


def lock() -> None:
    """Write constraints.txt: every distribution the target resolution installs, pinned."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        subprocess.run(
            [
                *PIP,
                *TARGET_FLAGS,
                "--dry-run",
                "--ignore-installed",
                "--target",
                str(Path(scratch) / "t"),
                "--report",
                str(report),
                "-r",
                str(REQUIREMENTS),
            ],
            check=True,
        )
        resolved = json.loads(report.read_text())["install"]
    pins = sorted(
        f"{item['metadata']['name'].lower()}=={item['metadata']['version']}" for item in resolved
    )
    CONSTRAINTS.write_text(
        "# Every distribution the Dependencies layer installs, pinned, so `sam build` is\n"
        "# reproducible. Generated for CPython 3.13 manylinux aarch64 by\n"
        "# `python3 layers/dependencies/build.py lock` from requirements.txt; regenerate\n"
        "# it whenever requirements.txt changes.\n" + "\n".join(pins) + "\n"
    )
    print(f"wrote {len(pins)} pins to {CONSTRAINTS}", file=sys.stderr)


def main(argv: list[str]) -> int:
    if argv[:1] == ["lock"] and len(argv) == 1:
        lock()
        return 0
    options = set(argv[2:])
    if argv[:1] == ["install"] and len(argv) >= 2 and options <= {"--host", "--no-prune"}:
        install(Path(argv[1]), host="--host" in options, prune_tree="--no-prune" not in options)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
