"""The Dependencies layer's lock is complete, and its build installs exactly the lock.

The locked wheels are downloaded once for the Lambda target (CPython 3.13, Linux aarch64;
PyPI, with pip's cache). Completeness is read from the wheels' own metadata: every
`Requires-Dist` of every locked wheel that applies on the target, with the extras that
are asked for, is satisfied inside the lock, and nothing is locked that no requirement
reaches. The build is then run against a local index holding those wheels and newer
releases (one of them a package that only an extra asks for), with no other index:
it installs exactly the locked versions, and a locked file the index lacks fails the
build with pip naming it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from email.parser import HeaderParser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from tests.sam.locks import LAYER_LOCK, LAYER_REQUIREMENTS, ROOT, pins, requirements

DEPENDENCIES = ROOT / "layers" / "dependencies"
sys.path.insert(0, str(DEPENDENCIES))
import build  # noqa: E402

# The Lambda python3.13 arm64 runtime, as PEP 508 markers see it.
TARGET = {
    "implementation_name": "cpython",
    "implementation_version": "3.13.0",
    "os_name": "posix",
    "platform_machine": "aarch64",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_system": "Linux",
    "platform_version": "",
    "python_full_version": "3.13.0",
    "python_version": "3.13",
    "sys_platform": "linux",
}

pytestmark = pytest.mark.timeout(600)


class Wheel:
    """A wheel's name, version and requirements, from its METADATA."""

    def __init__(self, path: Path) -> None:
        with zipfile.ZipFile(path) as archive:
            (metadata,) = (n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            headers = HeaderParser().parsestr(archive.read(metadata).decode())
        self.name = canonicalize_name(headers["Name"])
        self.version = Version(headers["Version"])
        self.requires = [Requirement(r) for r in headers.get_all("Requires-Dist") or []]


def unsatisfied(roots: Iterable[Requirement], wheels: dict[NormalizedName, Wheel]) -> list[str]:
    """What the locked wheels need on the target that they do not hold, and what they
    hold that nothing needs, each named with what asked for it."""
    problems: list[str] = []
    reached: set[tuple[NormalizedName, str]] = set()
    pending = [(requirement, "requirements.txt") for requirement in roots]
    while pending:
        requirement, wanted_by = pending.pop()
        name = canonicalize_name(requirement.name)
        wheel = wheels.get(name)
        if wheel is None:
            problems.append(f"{requirement} (from {wanted_by}) is not in the lock")
            continue
        if not requirement.specifier.contains(wheel.version, prereleases=True):
            problems.append(f"{requirement} (from {wanted_by}): the lock has {wheel.version}")
            continue
        for extra in {"", *requirement.extras}:
            if (name, extra) in reached:
                continue
            reached.add((name, extra))
            for needed in wheel.requires:
                if needed.marker is None or needed.marker.evaluate({**TARGET, "extra": extra}):
                    pending.append((needed, f"{name}=={wheel.version}"))
    unneeded = sorted(set(wheels) - {name for name, _ in reached})
    problems += [f"{name} is locked but nothing requires it" for name in unneeded]
    return problems


@pytest.fixture(scope="module")
def locked_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every wheel of the lock, for the target, hash-checked."""
    dest = tmp_path_factory.mktemp("locked-wheels")
    command = [sys.executable, "-m", "pip", "download", *build.QUIET, "--no-deps"]
    command += [*build.TARGET_FLAGS, "--require-hashes", "--dest", str(dest), "-r", str(LAYER_LOCK)]
    subprocess.run(command, check=True, timeout=540)
    return dest


def _wheels(directory: Path) -> dict[NormalizedName, Wheel]:
    return {wheel.name: wheel for wheel in map(Wheel, directory.glob("*.whl"))}


def test_the_lock_holds_everything_its_wheels_require_on_the_target(locked_wheels: Path) -> None:
    wheels = _wheels(locked_wheels)
    assert set(wheels) == set(pins(LAYER_LOCK)), "one wheel per locked distribution"
    assert unsatisfied(requirements(LAYER_REQUIREMENTS), wheels) == []


def test_a_requirement_missing_from_the_lock_is_named(locked_wheels: Path) -> None:
    # GIVEN the lock without h2, which only httpx's `http2` extra asks for (LiteLLM does)
    wheels = _wheels(locked_wheels)
    del wheels[canonicalize_name("h2")]
    # THEN the check names it and who asked for it
    problems = unsatisfied(requirements(LAYER_REQUIREMENTS), wheels)
    httpx = pins(LAYER_LOCK)["httpx"].version
    (missing,) = [p for p in problems if p.startswith("h2")]
    assert missing.endswith(f'; extra == "http2" (from httpx=={httpx}) is not in the lock')


def test_a_requirement_changed_without_relocking_is_named(locked_wheels: Path) -> None:
    # GIVEN requirements.txt asking for a LiteLLM the lock does not hold
    roots = [r for r in requirements(LAYER_REQUIREMENTS) if r.name != "litellm"]
    roots.append(Requirement("litellm==1.999.0"))
    problems = unsatisfied(roots, _wheels(locked_wheels))
    litellm = pins(LAYER_LOCK)["litellm"].version
    assert f"litellm==1.999.0 (from requirements.txt): the lock has {litellm}" in problems


def _fake_wheel(
    index: Path, name: str, version: str, requires: Iterable[str] = (), extras: Iterable[str] = ()
) -> None:
    """A newer release, as the index might publish it tomorrow."""
    dist_info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Provides-Extra: {extra}\n" for extra in extras)
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    wheel_meta = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files = {
        f"{name}/__init__.py": "",
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": wheel_meta,
    }
    record = "".join(f"{path},,\n" for path in [*files, f"{dist_info}/RECORD"])
    with zipfile.ZipFile(index / f"{name}-{version}-py3-none-any.whl", "w") as archive:
        for path, text in {**files, f"{dist_info}/RECORD": record}.items():
            archive.writestr(path, text)


@pytest.fixture(scope="module", params=["pip of this venv", "pip 23.2.1"])
def builder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Python whose pip runs the build. pip resolves a requirement with an extra
    differently from version to version: pip 23.2.1 (what Python 3.11 ships) looks past
    a hash-pinned version for it, pip 24 does not."""
    if request.param == "pip of this venv":
        return sys.executable
    venv = tmp_path_factory.mktemp("old-pip")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", *build.QUIET, "pip==23.2.1"]
    subprocess.run(pip, check=True, timeout=240)
    return python


def _build_from(
    index: Path, dest: Path, python: str = sys.executable
) -> subprocess.CompletedProcess[str]:
    """The layer's build (no pruning) by `python`, with `index` as the only package source."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env |= {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(index),
        "PYTHON313": "/nonexistent",  # no bytecode: not what this test is about
        "PATH": "/usr/bin:/bin",
        "PYENV_ROOT": str(index / "no-pyenv"),
    }
    command = [python, str(DEPENDENCIES / "build.py"), "install", str(dest), "--no-prune"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=540)


def _installed(tree: Path) -> dict[str, str]:
    names = (path.name.removesuffix(".dist-info") for path in tree.glob("*.dist-info"))
    return {canonicalize_name(n.rsplit("-", 1)[0]): n.rsplit("-", 1)[1] for n in names}


def test_newer_releases_on_the_index_do_not_change_the_build(
    locked_wheels: Path, builder: str, tmp_path: Path
) -> None:
    # GIVEN an index with the locked wheels and newer releases of httpx (which LiteLLM
    # asks for as httpx[http2]) and of h2 (which only that extra asks for)
    index = tmp_path / "index"
    shutil.copytree(locked_wheels, index)
    _fake_wheel(index, "httpx", "0.29.0", ['h2<6,>=3; extra == "http2"'], ["http2"])
    _fake_wheel(index, "h2", "5.0.0")
    # WHEN the layer is built from it
    result = _build_from(index, tmp_path / "python", builder)
    # THEN exactly the locked versions are installed
    assert result.returncode == 0, result.stderr[-3000:]
    locked = {name: pin.version for name, pin in pins(LAYER_LOCK).items()}
    assert _installed(tmp_path / "python") == locked


def test_a_locked_file_the_index_lacks_fails_the_build_naming_it(
    locked_wheels: Path, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    shutil.copytree(locked_wheels, index)
    (zipp,) = index.glob("zipp-*.whl")
    zipp.unlink()
    result = _build_from(index, tmp_path / "python")
    assert result.returncode != 0
    assert f"zipp=={pins(LAYER_LOCK)['zipp'].version}" in result.stderr, result.stderr[-3000:]
