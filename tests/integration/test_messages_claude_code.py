"""Claude Code, headless (`claude -p`), through the gateway to the scripted provider.

The binary comes from the npm package pinned in tests/clients/node (`npm ci` there, which
`scripts/test` runs). It probes `HEAD /`, then streams `POST /v1/messages?beta=true` with
adaptive thinking, context management and its own tools; here the provider first asks
for its `Read` tool, Claude Code runs it and sends the result back, and prints the
provider's final answer.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY

CLAUDE = Path(__file__).parents[1] / "clients" / "node" / "node_modules" / ".bin" / "claude"

pytestmark = pytest.mark.skipif(
    not CLAUDE.exists(),
    reason="Claude Code is not installed: run `npm ci` in tests/clients/node",
)


def run_claude(gateway_url: str, model: str, prompt: str, cwd: Path, home: Path) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": gateway_url,
        "ANTHROPIC_API_KEY": TENANT_KEY,
        "ANTHROPIC_MODEL": model,
        "ANTHROPIC_SMALL_FAST_MODEL": model,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    done = subprocess.run(
        [str(CLAUDE), "-p", prompt],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("model", ["direct", "via-litellm"])
def test_claude_code_runs_a_tool_and_prints_the_providers_answer(
    gateway_url: str, upstream: FakeUpstream, tmp_path: Path, model: str
) -> None:
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    notes = work / "notes.txt"
    notes.write_text("The secret word is pineapple.\n")
    upstream.scripts["scripted"] = [
        fake.tool_call("Read", json.dumps({"file_path": str(notes)}), call_id="call_read"),
        fake.text(["The word", " is pineapple."]),
    ]

    printed = run_claude(gateway_url, model, "What is the secret word in notes.txt?", work, home)

    assert printed.strip() == "The word is pineapple."
    first, second = (r.body for r in upstream.requests[-2:])
    assert "Read" in [tool["function"]["name"] for tool in first["tools"]]
    assert "What is the secret word in notes.txt?" in json.dumps(first["messages"])
    for name in ("thinking", "context_management", "output_config"):
        assert name not in first
    assert "x-anthropic-billing-header" not in json.dumps(first)
    assistant, tool = [m for m in second["messages"] if m["role"] in ("assistant", "tool")][-2:]
    assert assistant["tool_calls"][0]["id"] == "call_read"
    assert tool["tool_call_id"] == "call_read"
    assert "pineapple" in tool["content"]
