"""What the fuzz tests found, kept as plain tests with the exact request."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.fuzz.test_openapi_fuzz import APP
from tests.support.gateway import TENANT_KEY


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
@pytest.mark.parametrize("method", ["GET", "TRACE"])
def test_a_method_the_messages_paths_do_not_serve_is_a_405_in_anthropics_shape(
    path: str, method: str
) -> None:
    client = TestClient(APP)  # no lifespan: the app's providers stay open for the fuzz tests

    response = client.request(method, path, headers={"x-api-key": TENANT_KEY})

    assert response.status_code == 405
    assert response.json() == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": f"Method {method} is not allowed here.",
        },
    }
