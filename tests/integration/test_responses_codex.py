"""The Codex CLI (`codex exec`, `wire_api = "responses"`) against the gateway.

Codex is installed from npm under tests/clients/node (`npm ci` there; scripts/test runs
it). It sends what it sends to OpenAI: `store: false`, `include`, `reasoning`, function
tools beside `web_search` and `namespace` tools, and `client_metadata`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY

CODEX = Path(__file__).parents[1] / "clients" / "node" / "node_modules" / ".bin" / "codex"
ROUTES = ["direct", "via-litellm"]

pytestmark = pytest.mark.skipif(
    not CODEX.exists(), reason="Codex CLI not installed: run `npm ci` in tests/clients/node"
)


def codex(
    gateway_url: str, home: Path, model: str, key: str = TENANT_KEY
) -> subprocess.CompletedProcess[str]:
    """`codex exec` with the gateway as its only model provider, in a fresh home."""
    (home / "config.toml").write_text(
        f'model = "{model}"\n'
        'model_provider = "gateway"\n'
        "[model_providers.gateway]\n"
        'name = "gateway"\n'
        f'base_url = "{gateway_url}/v1"\n'
        'env_key = "GATEWAY_KEY"\n'
        'wire_api = "responses"\n'
        "stream_max_retries = 0\n"
        "request_max_retries = 0\n"
    )
    return subprocess.run(
        [str(CODEX), "exec", "--skip-git-repo-check", "--sandbox", "read-only", "Say hello"],
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),
            "CODEX_HOME": str(home),
            "GATEWAY_KEY": key,
        },
        cwd=home,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


@pytest.mark.parametrize("model", ROUTES)
def test_codex_exec_prints_the_providers_answer(
    gateway_url: str, upstream: FakeUpstream, tmp_path: Path, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hello", " from", " the", " provider"])

    done = codex(gateway_url, tmp_path, model)

    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello from the provider\n"
    [request] = upstream.requests
    assert request.body["messages"][-1] == {"role": "user", "content": "Say hello"}
    assert request.body["tools"]  # its function tools; the built-in ones are left out
    assert "client_metadata" not in request.body


@pytest.mark.parametrize("model", ROUTES)
def test_codex_runs_a_tool_the_provider_calls_and_sends_back_its_output(
    gateway_url: str, upstream: FakeUpstream, tmp_path: Path, model: str
) -> None:
    command = json.dumps({"cmd": "echo gateway-tool-ok"})
    upstream.scripts["scripted"] = [
        fake.tool_call("exec_command", command),
        fake.text(["Ran", " it"]),
    ]

    done = codex(gateway_url, tmp_path, model)

    assert done.returncode == 0, done.stderr
    assert done.stdout == "Ran it\n"
    _first, second = upstream.requests
    assistant, tool = second.body["messages"][-2:]
    assert assistant["tool_calls"][0]["function"] == {"name": "exec_command", "arguments": command}
    assert tool["role"] == "tool"
    assert tool["tool_call_id"] == "call_1"
    assert "gateway-tool-ok" in tool["content"]


@pytest.mark.parametrize(
    ("model", "key", "script", "printed"),
    [
        ("direct", "sk-nobody", None, "401 Unauthorized: Incorrect API key provided."),
        ("no-such-model", TENANT_KEY, None, "The model 'no-such-model' does not exist"),
        ("direct", TENANT_KEY, fake.error(429, "Slow down"), "429 Too Many Requests"),
        ("via-litellm", TENANT_KEY, fake.error(429, "Slow down"), "429 Too Many Requests"),
        (
            "direct",
            TENANT_KEY,
            fake.text(["Half"], ending="close", with_usage=False),
            "stream disconnected before completion: The provider's stream broke off.",
        ),
        (
            "via-litellm",
            TENANT_KEY,
            fake.text(["Half"], ending="close", with_usage=False),
            "stream disconnected before completion",
        ),
    ],
)
def test_codex_reports_errors_and_fails(
    gateway_url: str,
    upstream: FakeUpstream,
    tmp_path: Path,
    model: str,
    key: str,
    script: fake.Script | None,
    printed: str,
) -> None:
    if script is not None:
        upstream.scripts["scripted"] = script

    done = codex(gateway_url, tmp_path, model, key)

    assert done.returncode == 1
    assert done.stdout == ""
    assert printed in done.stderr
