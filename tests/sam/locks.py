"""Reading the repository's requirements and lock files, for the supply-chain tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LAYER_REQUIREMENTS = ROOT / "layers" / "dependencies" / "requirements.txt"
LAYER_LOCK = ROOT / "layers" / "dependencies" / "constraints.txt"
DEV_REQUIREMENTS = ROOT / "requirements-dev.txt"
DEV_LOCK = ROOT / "requirements-dev.lock"
SAM_REQUIREMENTS = ROOT / "requirements-sam.txt"
SAM_LOCK = ROOT / "requirements-sam.lock"
HASH = re.compile(r"\s*--hash=sha256:([0-9a-f]{64})")


@dataclass(frozen=True)
class Pin:
    version: str
    marker: Marker | None
    hashes: tuple[str, ...]


def _logical_lines(path: Path) -> list[str]:
    """The file's lines with continuations joined and comments dropped."""
    text = path.read_text().replace("\\\n", " ")
    lines = (re.sub(r"(^|\s)#.*", "", line).strip() for line in text.splitlines())
    return [line for line in lines if line]


def requirements(path: Path) -> list[Requirement]:
    """A requirements file's requirements, following `-r` includes."""
    found: list[Requirement] = []
    for line in _logical_lines(path):
        if line.startswith("-r "):
            found += requirements(path.parent / line.removeprefix("-r ").strip())
        else:
            found.append(Requirement(line))
    return found


def pins(path: Path) -> dict[NormalizedName, Pin]:
    """name -> its pin for this interpreter, for a lock whose every line is
    `name==version [; marker] --hash=...`. A universal lock may pin one name at several
    versions under markers that exclude each other; the one whose marker holds is kept."""
    locked: dict[NormalizedName, Pin] = {}
    for line in _logical_lines(path):
        requirement = Requirement(HASH.sub("", line))
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"not pinned with ==: {line!r}"
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name not in locked, f"{name} is locked twice for this Python in {path.name}"
        locked[name] = Pin(specifier.version, requirement.marker, tuple(HASH.findall(line)))
    return locked


def unsatisfied(wanted: list[Requirement], locked: dict[NormalizedName, Pin]) -> list[str]:
    """The requirements (for this interpreter) that the lock does not satisfy, named."""
    problems = []
    for requirement in wanted:
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pin = locked.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{requirement}: the lock has {pin.version}")
    return problems
