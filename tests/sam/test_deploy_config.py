"""template.yaml and samconfig.toml hold no keys and agree with each other.

No sam needed: these read the files as text and TOML.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = (ROOT / "template.yaml").read_text()
SAMCONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text())

# OpenAI/Anthropic-style keys, AWS access keys, and long base64/hex runs.
KEY_PATTERNS = (
    r"\bsk-[A-Za-z0-9_-]{8,}",
    r"\b(AKIA|ASIA)[0-9A-Z]{16}\b",
    r"\bsha256:[0-9a-f]{64}\b",
    r"[A-Za-z0-9+/]{40,}={0,2}",
)


def test_no_key_in_template_or_samconfig() -> None:
    samconfig = (ROOT / "samconfig.toml").read_text()
    for pattern in KEY_PATTERNS:
        assert not re.search(pattern, TEMPLATE), pattern
        assert not re.search(pattern, samconfig), pattern


def test_samconfig_resets_no_parameter() -> None:
    deploy = SAMCONFIG["default"]["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is True
    # A bare `sam deploy` keeps every deployed parameter value: overrides here would
    # reset them (an AWS_IAM stack back to a public URL, say) on every deploy.
    assert "parameter_overrides" not in deploy


def test_secret_capable_parameter_is_noecho_without_default() -> None:
    block = TEMPLATE.split("  TenantApiKeys:\n", 1)[1].split("\n  UpstreamTimeoutSeconds:", 1)[0]
    assert "NoEcho: true" in block
    assert 'Default: ""' in block
