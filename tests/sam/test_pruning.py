"""The Dependencies layer's pruning removes nothing that LiteLLM loads.

GIVEN the pinned dependencies installed for the host (same versions as the Lambda
artifact; only the compiled wheels differ), WHEN `import litellm`, the main provider
modules and streamed `acompletion` calls for the OpenAI, Anthropic and Bedrock wire
formats run against a local fake server (tests/sam/litellm_smoke.py), THEN no file they
open or import is one prune.py removes, and the same calls succeed on the pruned tree
(with the runtime-provided boto3/botocore put back beside it, as the python3.13
runtime has them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPENDENCIES = ROOT / "layers" / "dependencies"
SMOKE = Path(__file__).with_name("litellm_smoke.py")
EXPECTED = {
    "openai": "hello openai",
    "anthropic": "hello anthropic",
    "bedrock": "hello bedrock",
    "error": "AuthenticationError",
}

sys.path.insert(0, str(DEPENDENCIES))
from prune import RULES, Rule, matches, prune  # noqa: E402

pytestmark = pytest.mark.timeout(600)


def _smoke(tmp: Path, *paths: Path) -> dict[str, object]:
    """Run litellm_smoke.py with only `paths` (and the standard library) importable."""
    report = tmp / f"report-{len(list(tmp.glob('report-*')))}.json"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(str(p) for p in paths),
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(tmp),
    }
    subprocess.run(
        [sys.executable, "-S", str(SMOKE), str(report)],
        env=env,
        cwd=tmp,
        check=True,
        timeout=300,
    )
    result: dict[str, object] = json.loads(report.read_text())
    return result


@pytest.fixture(scope="module")
def unpruned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("deps") / "python"
    subprocess.run(
        [
            sys.executable,
            str(DEPENDENCIES / "build.py"),
            "install",
            str(site),
            "--host",
            "--no-prune",
        ],
        check=True,
        timeout=540,
    )
    return site


def _allowed(rule: Rule, hit: Path, site: Path) -> bool:
    """A loaded path under a pruned one is fine only when the runtime provides it, or
    when it is the metadata of a removed distribution that an entry-point scan over
    every installed distribution read."""
    if rule.provided_by_runtime:
        return True
    top = hit.relative_to(site).parts[0]
    return top.endswith(".dist-info")


def test_pruned_paths_are_never_loaded(unpruned: Path, tmp_path: Path) -> None:
    # GIVEN the unpruned host tree
    # WHEN LiteLLM is imported and streams through each wire format
    report = _smoke(tmp_path, unpruned)
    assert report["results"] == EXPECTED
    loaded = {Path(f) for f in report["files"]}  # type: ignore[union-attr]
    # THEN nothing it loaded lies under a path a rule prunes
    for rule, paths in matches(unpruned):
        pruned = set(paths)
        hits = [f for f in loaded if f in pruned or not pruned.isdisjoint(f.parents)]
        bad = [str(f) for f in hits if not _allowed(rule, f, unpruned)]
        assert not bad, f"{rule.patterns} removes files LiteLLM loads: {bad[:10]}"


def test_litellm_runs_on_the_pruned_tree(unpruned: Path, tmp_path: Path) -> None:
    # GIVEN a pruned copy, and the runtime-provided packages moved beside it
    site = tmp_path / "python"
    runtime = tmp_path / "runtime"  # stands in for the python3.13 runtime's boto3
    shutil.copytree(unpruned, site, symlinks=True)
    runtime.mkdir()
    for rule, paths in matches(site):
        if rule.provided_by_runtime:
            for path in paths:
                shutil.move(path, runtime / path.name)
    removed = prune(site)
    assert removed, "prune.py removed nothing: did the dependency layout change?"
    assert not (site / "boto3").exists()
    assert (site / "litellm" / "model_prices_and_context_window_backup.json").is_file()
    # WHEN the same calls run on it THEN they give the same results
    report = _smoke(tmp_path, site, runtime)
    assert report["results"] == EXPECTED


def test_every_rule_explains_itself() -> None:
    for rule in RULES:
        assert rule.patterns
        assert len(rule.why) > 40, rule.patterns
