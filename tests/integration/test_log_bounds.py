"""Names a tenant chooses reach the log bounded: a log record stays small whatever the
request holds (CloudWatch takes 256 KB an event, and every byte is billed)."""

from __future__ import annotations

import httpx
import pytest

from gateway.observability import logger
from tests.support.gateway import TENANT_KEY

BIG = "A" * 200_000


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        (
            "/v1/messages",
            {"model": "echo", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
            | {f"{BIG}{i}": 1 for i in range(3)},
        ),
        (
            "/v1/responses",
            {"model": "echo", "input": "hi", "tools": [{"type": f"{BIG}{i}"} for i in range(10)]},
        ),
    ],
    ids=["messages fields", "responses tools"],
)
def test_log_records_stay_small_whatever_the_tenant_sends(
    gateway_url: str, caplog: pytest.LogCaptureFixture, endpoint: str, body: dict[str, object]
) -> None:
    response = httpx.post(
        f"{gateway_url}{endpoint}", json=body, headers={"x-api-key": TENANT_KEY}, timeout=10
    )

    assert response.status_code == 200
    lines = [logger.registered_formatter.format(record) for record in caplog.records]
    assert any("left out" in line for line in lines)
    assert max(map(len, lines)) < 4096
