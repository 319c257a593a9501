"""Property-based fuzzing of the HTTP API from its own OpenAPI schema (schemathesis).

The document describes every door's request body, so every door is fuzzed: requests that
fit the schema and requests that break it. Whatever the request: never a 5xx, and every
error is in the door's own shape (OpenAI's for chat and Responses, Anthropic's for
Messages); a stream that was answered does not end in an error. Runs in-process through
the ASGI interface, against the echo model.
"""

from __future__ import annotations

import json

import schemathesis
from hypothesis import HealthCheck, settings

from gateway.app import create_app
from gateway.config import ECHO_MODEL, Settings
from tests.support.gateway import TENANT_KEY

APP = create_app(
    Settings.from_env(
        {
            "GATEWAY_API_KEYS": json.dumps({"acme": [TENANT_KEY]}),
            "GATEWAY_MAX_BODY_BYTES": "65536",
            "GATEWAY_RESPONSES_STORE_URL": "memory://",
        }
    )
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)

ANTHROPIC_PATHS = ("/v1/messages", "/v1/messages/count_tokens")


def stream_failed(content: bytes) -> bool:
    """Whether a stream ends with its door's error event: Anthropic's `event: error`, the
    Responses `response.failed`, chat's `data: {"error": ...}`. Line by line: the text of
    a message is JSON in one line and cannot start one."""
    return any(
        line in (b"event: error", b"event: response.failed") or line.startswith(b'data: {"error"')
        for line in content.split(b"\n")
    )


def served(case: schemathesis.Case) -> schemathesis.Case:
    """`case` naming the echo model, the only one served, where it names a model: so that
    its request is answered and its stream framed, not refused as an unknown model (that
    404 is tested on its own). Not a hook: the coverage phase applies none."""
    if isinstance(case.body, dict) and isinstance(case.body.get("model"), str):
        case.body = {**case.body, "model": ECHO_MODEL}
    return case


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_request_gets_a_clear_answer_never_a_server_error(case: schemathesis.Case) -> None:
    response = served(case).call(headers={"authorization": f"Bearer {TENANT_KEY}"})

    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        seen = (response.status_code, case.method, body)
        # Anthropic's shape under its paths, whatever the method (test_fuzz_findings.py)
        if case.path in ANTHROPIC_PATHS:
            assert body.get("type") == "error", seen
            assert set(body["error"]) == {"type", "message"}, seen
        else:
            assert set(body["error"]) == {"message", "type", "param", "code"}, seen
        assert body["error"]["message"]
    elif response.headers.get("content-type", [""])[0].startswith("text/event-stream"):
        assert not stream_failed(response.content), response.text
