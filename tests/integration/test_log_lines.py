"""Every log line is one JSON object the gateway wrote, whatever text a tenant sends.

LiteLLM logs through its own loggers ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy") with
a plain-text handler of its own: a warning that quotes a tenant's value (an image URL)
holding a line break and a forged JSON record printed that record as a line of its own.
In a process of its own, after the gateway has loaded LiteLLM, each logger writes such a
value; every line of output must parse as JSON, and no line may be the forged record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORGED = '{"level":"INFO","message":"forged","tenant":"admin"}'

SCRIPT = f"""
import logging
from gateway.providers.litellm_provider import _load
_load()
evil = "https://x.example/a.png\\n" + {FORGED!r}
for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
    logging.getLogger(name).warning("could not fetch image %s", evil)
"""


def test_a_dependencys_log_record_cannot_start_a_line() -> None:
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "functions")},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    warnings = [r for r in records if "could not fetch image" in r.get("message", "")]
    assert len(warnings) == 3
    assert not any(r.get("message") == "forged" for r in records)
