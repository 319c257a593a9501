"""The OpenAPI document describes every door's request body, as the door reads it: every
request a door translates fits the document (the fuzz tests generate from it, so a body
the document refuses would never be generated as valid)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from jsonschema import Draft202012Validator  # schemathesis's dependency

from gateway.app import create_app
from gateway.config import Settings
from tests.support.gateway import TENANT_KEY
from tests.unit import test_door_chat, test_door_messages, test_door_responses

DOORS = {
    "/v1/chat/completions": "ChatCompletionRequest",
    "/v1/responses": "ResponsesRequest",
    "/v1/messages": "MessagesRequest",
    "/v1/messages/count_tokens": "MessagesCountTokensRequest",
}


def app() -> FastAPI:
    return create_app(Settings.from_env({"GATEWAY_API_KEYS": json.dumps({"a": [TENANT_KEY]})}))


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return app().openapi()


def test_the_document_is_built_when_first_asked_for_not_at_start() -> None:
    started = app()

    assert started.openapi_schema is None
    assert started.openapi() is started.openapi()


@pytest.mark.parametrize(("path", "name"), DOORS.items())
def test_every_door_has_its_request_body(document: dict[str, Any], path: str, name: str) -> None:
    operation = document["paths"][path]["post"]

    assert operation["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }
    assert operation["security"]


def fits(document: dict[str, Any], name: str, body: object) -> bool:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return Draft202012Validator(schema).is_valid(body)


def bodies(rows: list[Any]) -> list[Any]:
    """The request bodies of a door's translation table, with the table's ids."""
    return [pytest.param(row.values[0], id=row.id) for row in rows]


@pytest.mark.parametrize("body", bodies(test_door_responses.TRANSLATIONS))
def test_every_responses_request_the_door_translates_fits_the_document(
    document: dict[str, Any], body: dict[str, Any]
) -> None:
    assert fits(document, "ResponsesRequest", body)


@pytest.mark.parametrize("body", bodies(test_door_messages.TRANSLATIONS))
def test_every_messages_request_the_door_translates_fits_the_document(
    document: dict[str, Any], body: dict[str, Any]
) -> None:
    assert fits(document, "MessagesRequest", body)
    counted = {name: value for name, value in body.items() if name != "max_tokens"}
    assert fits(document, "MessagesCountTokensRequest", counted)
    assert not fits(document, "MessagesRequest", counted)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(test_door_chat.request(), id="plain"),
        pytest.param(
            test_door_chat.request(stream=True, stream_options={"include_usage": True}),
            id="streamed",
        ),
    ],
)
def test_a_chat_request_fits_the_document(document: dict[str, Any], body: dict[str, Any]) -> None:
    assert fits(document, "ChatCompletionRequest", body)


@pytest.mark.parametrize(
    ("name", "body"),
    [
        pytest.param("ResponsesRequest", {"model": "m"}, id="responses: no input"),
        pytest.param(
            "ResponsesRequest",
            {"model": "m", "input": [{"role": "tool", "content": "x"}]},
            id="responses: a role the door refuses",
        ),
        pytest.param(
            "ResponsesRequest",
            {"model": "m", "input": "x", "text": {"format": {"type": "xml"}}},
            id="responses: a text format the door refuses",
        ),
        pytest.param(
            "MessagesRequest",
            {"model": "m", "max_tokens": 1, "messages": []},
            id="messages: no messages",
        ),
        pytest.param(
            "MessagesRequest",
            {
                "model": "m",
                "max_tokens": 1,
                "messages": [{"role": "user", "content": "x"}],
                "temperature": 1.5,
            },
            id="messages: temperature above 1",
        ),
        pytest.param(
            "MessagesRequest",
            {
                "model": "m",
                "max_tokens": 1,
                "messages": [{"role": "user", "content": [{"type": "audio"}]}],
            },
            id="messages: a block the door refuses",
        ),
    ],
)
def test_a_request_the_door_refuses_for_its_shape_does_not_fit(
    document: dict[str, Any], name: str, body: dict[str, Any]
) -> None:
    assert not fits(document, name, body)
