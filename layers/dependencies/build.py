"""Install the gateway's dependencies for the Lambda target, then prune them.

    python3 build.py install DEST [--host] [--no-prune]
                                             pip install --target DEST, then prune.py
    python3 build.py lock                    re-resolve constraints.txt for the target
    python3 build.py pins                    print constraints.txt without its hashes
    python3 build.py bytecode-list           rewrite bytecode.txt (needs a python3.13)
    python3 build.py python313               print the path of a CPython 3.13, if any

The target is the python3.13 arm64 runtime (Amazon Linux 2023, glibc 2.34): pip picks
binary wheels only (`--only-binary=:all:`, so nothing is compiled and no python3.13 is
needed here) for CPython 3.13 on any manylinux aarch64 up to glibc 2.34. pip older than
25 does not expand `manylinux_2_34` to the older tags, hence the explicit list: LiteLLM
ships manylinux_2_28 wheels while orjson ships manylinux2014 only.

Supply chain: constraints.txt pins every distribution of the target resolution with the
sha256 of its wheel, and the target install takes exactly those files: constraints.txt as
the requirements, pip in hash-checking mode (`--require-hashes`: a file on the index that
differs from the one locked, under any name or version, is refused) and `--no-deps`. No
resolution happens at build time, so what the index publishes later cannot change or
break the build: without `--no-deps` pip still resolves the wheels' own requirements,
and a requirement with an extra (LiteLLM's `httpx[http2]`) makes it consider the newest
release of the package and refuse it as unpinned. The lock is complete because `lock`
resolves once, downloads the target wheels and hashes what it got;
tests/sam/test_supply_chain.py checks every locked wheel's requirements against the
lock. A locked file the index no longer has fails the build with pip naming it.

`--host` installs the same versions for the Python running this script instead (used by
tests/sam/test_pruning.py to import and run the pruned tree on the build machine), and
`pins` prints them as constraints for the development lock (scripts/lock): those take
the host's wheels, whose hashes differ from the target's, so they are pinned by version.
`--no-compile` everywhere: bytecode from the host's Python is useless on 3.13.

Bytecode: /opt is read-only on Lambda, so a module shipped without bytecode is compiled
again at every cold start; for the modules a start imports that is most of the start
(benchmarks/bytecode.py, python3.13: `import gateway.app` 685 ms of CPU without bytecode,
312 ms with; with LiteLLM set up 7.1 s against 3.6 s). Compiling everything would add
~90 MB, past the size budget. So the install compiles the modules listed in bytecode.txt (those that
`import gateway.app` and setting up LiteLLM load), with a CPython 3.13 if the build host
has one (`$PYTHON313`, `python3.13`, or pyenv's; bytecode is the same on every platform
within a Python version), as unchecked-hash .pyc files: used without reading or
stat-ing the source, so the zip's timestamps do not matter. Without a python3.13 the
layer ships as before, without bytecode, and the build says so.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
CONSTRAINTS = HERE / "constraints.txt"
BYTECODE_LIST = HERE / "bytecode.txt"
FUNCTIONS = HERE.parents[1] / "functions"

TARGET_PYTHON = "3.13"
TARGET_GLIBC_MINORS = range(17, 35)  # manylinux_2_17 (manylinux2014) .. 2_34 (AL2023)
TARGET_FLAGS = [
    "--only-binary=:all:",
    "--implementation=cp",
    f"--python-version={TARGET_PYTHON}",
    "--platform=manylinux2014_aarch64",
    *(f"--platform=manylinux_2_{minor}_aarch64" for minor in TARGET_GLIBC_MINORS),
]
PIP = [sys.executable, "-m", "pip"]
QUIET = ["--disable-pip-version-check", "--no-input", "--quiet"]


def install(dest: Path, *, host: bool, prune_tree: bool = True) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    if host:
        with tempfile.TemporaryDirectory() as scratch:
            versions = Path(scratch) / "pins.txt"
            versions.write_text(pins())
            _pip_install(dest, "--only-binary=:all:", "-r", REQUIREMENTS, "-c", versions)
    else:
        _pip_install(dest, *TARGET_FLAGS, "--require-hashes", "--no-deps", "-r", CONSTRAINTS)
    if prune_tree:
        sys.path.insert(0, str(HERE))
        from prune import prune

        prune(dest)
    if not host:
        python = python313()
        if python is None:
            print("no python3.13 here: the layer ships without bytecode", file=sys.stderr)
        else:
            compiled = compile_bytecode(dest, python)
            print(f"bytecode: {compiled} modules compiled with {python}", file=sys.stderr)


def python313() -> str | None:
    """A CPython 3.13 to compile bytecode with: $PYTHON313, python3.13 on PATH (a pyenv
    shim of a version that is not selected fails to run, hence the check), or pyenv's."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [
        os.environ.get("PYTHON313"),
        shutil.which("python3.13"),
        *(str(p) for p in sorted(pyenv.glob("3.13*/bin/python3.13"), reverse=True)),
    ]
    check = "import sys; sys.exit(sys.implementation.cache_tag != 'cpython-313')"
    for candidate in filter(None, candidates):
        try:
            if subprocess.run([candidate, "-c", check], capture_output=True).returncode == 0:
                return candidate
        except OSError:  # not there, or not a program
            continue
    return None


_COMPILE = """
import py_compile, sys
for name in sys.stdin.read().split():
    py_compile.compile(
        f"{sys.argv[1]}/{name}", doraise=True,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
"""


def bytecode_list() -> list[str]:
    lines = BYTECODE_LIST.read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def compile_bytecode(tree: Path, python: str) -> int:
    """Compile the modules of bytecode.txt that `tree` holds with `python`; how many."""
    present = [name for name in bytecode_list() if (tree / name).is_file()]
    subprocess.run(
        [python, "-c", _COMPILE, str(tree)],
        input="\n".join(present),
        text=True,
        check=True,
    )
    return len(present)


_STARTUP = """
import sys
tree = sys.argv[1]
import gateway.app
import gateway.providers.openai_compatible
from gateway.providers.litellm_provider import _litellm
_litellm()
files = (getattr(module, "__file__", None) for module in list(sys.modules.values()))
names = {f[len(tree) + 1:] for f in files if f and f.startswith(tree + "/") and f.endswith(".py")}
print(*sorted(names), sep=chr(10))
"""


def startup_modules(python: str, tree: Path) -> list[str]:
    """The modules of `tree` (the layer's pins installed for `python`, a 3.13) that a start
    imports: `gateway.app`, both providers, LiteLLM set up as for a SnapStart snapshot."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": f"{tree}{os.pathsep}{FUNCTIONS}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(tree.parent),
    }
    command = [python, "-S", "-c", _STARTUP, str(tree)]
    listing = subprocess.run(command, env=env, cwd=tree.parent, capture_output=True, text=True)
    if listing.returncode:
        sys.exit(listing.stderr)
    return listing.stdout.split()


def write_bytecode_list() -> None:
    python = python313()
    if python is None:
        sys.exit("bytecode-list needs a CPython 3.13: set PYTHON313 to one")
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "python"
        subprocess.run([python, __file__, "install", str(tree), "--host"], check=True)
        names = startup_modules(python, tree)
    BYTECODE_LIST.write_text(
        "# The Dependencies layer's modules that the build compiles to bytecode: those a\n"
        "# start imports (see build.py). Generated by `python3 layers/dependencies/build.py\n"
        "# bytecode-list`; regenerate it whenever constraints.txt or the gateway's imports\n"
        "# change (tests/sam/test_bytecode.py says when).\n" + "".join(f"{n}\n" for n in names)
    )
    print(f"wrote {len(names)} modules to {BYTECODE_LIST}", file=sys.stderr)


def _pip_install(dest: Path, *args: str | Path) -> None:
    command = [*PIP, "install", *QUIET, "--no-compile", "--target", str(dest), *map(str, args)]
    subprocess.run(command, check=True)


def pins() -> str:
    """constraints.txt without its hashes: the same versions, for any platform."""
    lines = CONSTRAINTS.read_text().splitlines()
    return "".join(re.sub(r"\s+--hash=\S+", "", line) + "\n" for line in lines)


def lock() -> None:
    """Write constraints.txt: every distribution the target resolution installs, pinned
    to the version and the sha256 of the wheel downloaded for the target."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [*PIP, "download", *QUIET, *TARGET_FLAGS, "--dest", scratch]
        subprocess.run([*command, "-r", str(REQUIREMENTS)], check=True)
        wheels = sorted(Path(scratch).glob("*.whl"))
        locked = sorted(_pinned(wheel) for wheel in wheels)
    CONSTRAINTS.write_text(
        "# Every distribution the Dependencies layer installs, pinned to its version and the\n"
        "# sha256 of its CPython 3.13 manylinux aarch64 (or pure Python) wheel, so `sam build`\n"
        "# is reproducible and installs nothing else. Generated by\n"
        "# `python3 layers/dependencies/build.py lock` from requirements.txt; regenerate it\n"
        "# whenever requirements.txt changes, and review what changed.\n" + "".join(locked)
    )
    print(f"wrote {len(locked)} pins to {CONSTRAINTS}", file=sys.stderr)


def _pinned(wheel: Path) -> str:
    """`name==version --hash=sha256:...` for a wheel file ({name}-{version}-...whl)."""
    name, version = wheel.name.split("-")[:2]
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    return f"{name.lower().replace('_', '-')}=={version} --hash=sha256:{digest}\n"


def main(argv: list[str]) -> int:
    if argv[:1] == ["lock"] and len(argv) == 1:
        lock()
        return 0
    if argv[:1] == ["bytecode-list"] and len(argv) == 1:
        write_bytecode_list()
        return 0
    if argv[:1] == ["python313"] and len(argv) == 1:
        python = python313()
        if python is None:
            return 1
        print(python)
        return 0
    if argv[:1] == ["pins"] and len(argv) == 1:
        sys.stdout.write(pins())
        return 0
    options = set(argv[2:])
    if argv[:1] == ["install"] and len(argv) >= 2 and options <= {"--host", "--no-prune"}:
        install(Path(argv[1]), host="--host" in options, prune_tree="--no-prune" not in options)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
