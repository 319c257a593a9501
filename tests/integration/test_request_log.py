"""The structured request log: one JSON line per request, hashes but no text or keys."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from gateway.observability import logger
from tests.conftest import PROVIDER_KEY, TENANT_KEY
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream

SECRET_TEXT = "my-confidential-prompt-text"


def read_log(caplog: pytest.LogCaptureFixture) -> tuple[str, list[dict[str, object]]]:
    """Every log line as the gateway's JSON formatter writes it, once the request line is
    there (a stream logs just after its last byte)."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not any(
        r.getMessage() == "chat.completions" for r in caplog.records
    ):
        time.sleep(0.02)
    time.sleep(0.1)
    formatter = logger.registered_formatter
    output = "\n".join(formatter.format(record) for record in caplog.records)
    lines = [json.loads(line) for line in output.splitlines() if '"chat.completions"' in line]
    return output, lines


@pytest.mark.parametrize("stream", [True, False])
def test_one_line_per_request_with_hashes_and_no_secrets(
    gateway_url: str, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture, stream: bool
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hi"])

    response = httpx.post(
        f"{gateway_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {TENANT_KEY}"},
        json={
            "model": "direct",
            "stream": stream,
            "messages": [{"role": "user", "content": SECRET_TEXT}],
        },
    )

    output, [line] = read_log(caplog)
    assert line["tenant_id_hash"] == response.headers["x-gateway-tenant-hash"]
    assert line["context_hash"] == response.headers["x-gateway-context-hash"]
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["status"] == 200
    assert line["model"] == "direct"
    assert line["stream"] is stream
    assert line["completion_tokens"] == 7
    for secret in (SECRET_TEXT, TENANT_KEY, PROVIDER_KEY, "semantic"):
        assert secret not in output


def test_errors_are_logged_once_with_their_type(
    gateway_url: str, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    upstream.scripts["scripted"] = fake.error(503, f"down {PROVIDER_KEY}")

    httpx.post(
        f"{gateway_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {TENANT_KEY}"},
        json={"model": "direct", "messages": [{"role": "user", "content": SECRET_TEXT}]},
    )

    output, [line] = read_log(caplog)
    assert (line["status"], line["error_type"]) == (502, "UpstreamFailed")
    assert "tenant_id_hash" in line
    for secret in (SECRET_TEXT, TENANT_KEY, PROVIDER_KEY):
        assert secret not in output
