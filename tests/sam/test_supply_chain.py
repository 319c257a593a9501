"""The Dependencies layer installs exactly the wheels constraints.txt locks, by hash.

GIVEN a package index that serves, under a locked name and version, a wheel with one
file added (what a compromised release looks like), WHEN the layer's build
(layers/dependencies/build.py) installs from it, THEN it stops with pip's hash error and
installs nothing; the genuine wheel from the same index installs. The index is a
directory on disk (a PEP 503 page per project), and pip's own configuration is set
aside so that it sees no other.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.sam import locks

ROOT = Path(__file__).resolve().parents[2]
DEPENDENCIES = ROOT / "layers" / "dependencies"
PIN = re.compile(r"^([a-z0-9-]+)==(\S+) --hash=sha256:([0-9a-f]{64})$")
WHEEL = "six-1.17.0-py2.py3-none-any.whl"

pytestmark = pytest.mark.timeout(300)


def _locked() -> dict[str, tuple[str, str]]:
    """name -> (version, sha256) from constraints.txt; every line must be a hashed pin."""
    locked = {}
    for line in (DEPENDENCIES / "constraints.txt").read_text().splitlines():
        if line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"not a hashed pin: {line!r}"
        locked[match[1]] = (match[2], match[3])
    return locked


_LIST_INSTALLED = """
import importlib.metadata, json
print(json.dumps({d.metadata["Name"]: d.version for d in importlib.metadata.distributions()}))
"""


def _installed(python: Path) -> dict[str, str]:
    """name -> version of every distribution installed for `python`."""
    listing = subprocess.run(
        [str(python), "-c", _LIST_INSTALLED], capture_output=True, text=True, check=True
    )
    return {canonicalize_name(name): v for name, v in json.loads(listing.stdout).items()}


@pytest.mark.parametrize(
    ("venv", "lock"),
    [(".venv", locks.DEV_LOCK), (".venv-sam", locks.SAM_LOCK)],
    ids=["dev", "sam"],
)
def test_each_venv_holds_exactly_its_lock(venv: str, lock: Path) -> None:
    # scripts/setup installs the lock with --no-deps: nothing resolved, nothing else
    python = ROOT / venv / "bin" / "python"
    if not python.exists():
        pytest.skip(f"no {venv}: scripts/setup makes it")
    locked = {name: pin.version for name, pin in locks.pins(lock).items()}
    seeded = {"pip", "setuptools"} - set(locked)  # what `python -m venv` puts there itself
    installed = {name: v for name, v in _installed(python).items() if name not in seeded}
    assert installed == locked


@pytest.mark.parametrize(
    ("requirements", "lock"),
    [
        (locks.LAYER_REQUIREMENTS, locks.LAYER_LOCK),
        (locks.DEV_REQUIREMENTS, locks.DEV_LOCK),
        (locks.SAM_REQUIREMENTS, locks.SAM_LOCK),
    ],
    ids=["layer", "dev", "sam"],
)
def test_every_requirement_is_satisfied_by_its_lock(requirements: Path, lock: Path) -> None:
    # A pin changed in a requirements file without `scripts/lock` fails here
    assert locks.unsatisfied(locks.requirements(requirements), locks.pins(lock)) == []


def test_every_development_tool_is_pinned() -> None:
    # A tool's version comes from its requirements file or the layer's lock, never from
    # whatever the index offers when the lock is next made
    layer = locks.pins(locks.LAYER_LOCK)
    for path in (locks.DEV_REQUIREMENTS, locks.SAM_REQUIREMENTS):
        for requirement in locks.requirements(path):
            pinned = [spec.operator for spec in requirement.specifier] == ["=="]
            assert pinned or canonicalize_name(requirement.name) in layer, (
                path.name,
                str(requirement),
            )


def test_the_development_lock_has_the_layers_versions() -> None:
    # The app is tested with the versions the Lambda layer ships
    dev = locks.pins(locks.DEV_LOCK)
    differ = {
        name: (pin.version, dev[name].version)
        for name, pin in locks.pins(locks.LAYER_LOCK).items()
        if name in dev and dev[name].version != pin.version
    }
    assert not differ, f"layer vs development lock (run scripts/lock): {differ}"
    assert "litellm" in dev


def test_every_requirement_is_locked_with_a_hash() -> None:
    locked = _locked()
    assert len(locked) > 50
    for line in (DEPENDENCIES / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            assert locked[name.lower().replace("_", "-")][0] == version, line


@pytest.fixture(scope="module")
def genuine_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """six 1.17.0 as the configured index serves it (it is in the lock)."""
    dest = tmp_path_factory.mktemp("genuine")
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    subprocess.run(
        [*pip, "--dest", str(dest), "six==1.17.0"],
        check=True,
        timeout=240,
    )
    return dest / WHEEL


def _build(tmp: Path, wheel: Path, *, hashed: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the layer build for six alone, against an index that serves `wheel`."""
    project = tmp / "dependencies"
    project.mkdir()
    for name in ("build.py", "prune.py", "bytecode.txt"):
        shutil.copy(DEPENDENCIES / name, project / name)
    version, digest = _locked()["six"]
    (project / "requirements.txt").write_text(f"six=={version}\n")
    lock = f"six=={version} --hash=sha256:{digest}" if hashed else f"six=={version}"
    (project / "constraints.txt").write_text(lock + "\n")
    # A PEP 503 page for six, advertising the served file's own hash, as an index would.
    index = tmp / "simple" / "six"
    index.mkdir(parents=True)
    shutil.copy(wheel, index / WHEEL)
    served = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (index / "index.html").write_text(f'<a href="{WHEEL}#sha256={served}">{WHEEL}</a>\n')
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env |= {
        "PIP_CONFIG_FILE": os.devnull,  # no machine-wide find-links or extra indexes
        "PIP_INDEX_URL": (tmp / "simple").as_uri(),
        "PIP_NO_CACHE_DIR": "1",
    }
    return subprocess.run(
        [sys.executable, str(project / "build.py"), "install", str(tmp / "python"), "--no-prune"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_the_layer_build_refuses_a_wheel_whose_hash_does_not_match(
    genuine_wheel: Path, tmp_path: Path
) -> None:
    # GIVEN the locked wheel with one module added, under the same name
    tampered = tmp_path / WHEEL
    shutil.copy(genuine_wheel, tampered)
    with zipfile.ZipFile(tampered, "a") as wheel:
        wheel.writestr("six_hook.py", "print('not what was locked')\n")
    # WHEN the layer is built from an index that serves it
    result = _build(tmp_path, tampered)
    # THEN pip refuses it and nothing is installed
    assert result.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in result.stderr, result.stderr[-2000:]
    assert not (tmp_path / "python" / "six.py").exists()


def test_the_layer_build_installs_the_locked_wheel(genuine_wheel: Path, tmp_path: Path) -> None:
    result = _build(tmp_path, genuine_wheel)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "python" / "six.py").is_file()


def test_the_layer_build_refuses_a_lock_line_without_a_hash(
    genuine_wheel: Path, tmp_path: Path
) -> None:
    result = _build(tmp_path, genuine_wheel, hashed=False)
    assert result.returncode != 0
    assert "Hashes are required in --require-hashes mode" in result.stderr, result.stderr[-2000:]
