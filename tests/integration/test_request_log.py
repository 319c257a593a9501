"""The structured request log: one JSON line per request, hashes but no text or keys."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from gateway.observability import logger
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import PROVIDER_KEY, TENANT_KEY

SECRET_TEXT = "my-confidential-prompt-text"


def read_log(
    caplog: pytest.LogCaptureFixture, door: str = "chat.completions"
) -> tuple[str, list[dict[str, Any]]]:
    """Every log line as the gateway's JSON formatter writes it, and the request lines of
    `door`, once there is one (the server runs in another thread)."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not any(r.getMessage() == door for r in caplog.records):
        time.sleep(0.02)
    time.sleep(0.1)
    formatter = logger.registered_formatter
    output = "\n".join(formatter.format(record) for record in caplog.records)
    lines = [json.loads(line) for line in output.splitlines()]
    return output, [line for line in lines if line.get("message") == door]


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
    assert line["output_tokens"] == 7
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


def emf_records(output: str) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in output.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]


def metric_names(record: dict[str, Any]) -> set[str]:
    return {m["Name"] for d in record["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


def test_metrics_are_emitted_as_emf_after_the_stream(
    gateway_url: str,
    upstream: FakeUpstream,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hi"])
    capsys.readouterr()

    httpx.post(
        f"{gateway_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {TENANT_KEY}"},
        json={"model": "direct", "stream": True, "messages": [{"role": "user", "content": "x"}]},
    )
    read_log(caplog)

    [record] = emf_records(capsys.readouterr().out)
    assert {"Requests", "TimeToFirstToken", "StreamDuration"} <= metric_names(record)
    assert record["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "LLMGateway"
    assert record["Requests"] == [1.0]


def test_errors_are_counted_by_type(
    gateway_url: str,
    upstream: FakeUpstream,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upstream.scripts["scripted"] = fake.error(429, "slow")
    capsys.readouterr()

    httpx.post(
        f"{gateway_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {TENANT_KEY}"},
        json={"model": "direct", "messages": [{"role": "user", "content": "x"}]},
    )
    read_log(caplog)

    records = emf_records(capsys.readouterr().out)
    [errors] = [r for r in records if "Errors" in metric_names(r)]
    assert errors["ErrorType"] == "rate_limit_exceeded"
