"""Property-based fuzzing of the HTTP API from its own OpenAPI schema (schemathesis).

Whatever the generated request, valid or not: never a 5xx, and every error is OpenAI's
error shape. Runs in-process through the ASGI interface against the echo model.
"""

from __future__ import annotations

import json

import schemathesis
from hypothesis import HealthCheck, settings

from gateway.app import create_app
from gateway.config import Settings
from tests.support.gateway import TENANT_KEY

APP = create_app(
    Settings.from_env(
        {
            "GATEWAY_API_KEYS": json.dumps({"acme": [TENANT_KEY]}),
            "GATEWAY_MAX_BODY_BYTES": "65536",
        }
    )
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_request_gets_a_clear_answer_never_a_server_error(case: schemathesis.Case) -> None:
    response = case.call(headers={"authorization": f"Bearer {TENANT_KEY}"})

    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["message"]
