"""The OpenAPI document: FastAPI's, plus what it cannot infer. Built on first request for
it, not at import, so that a cold start does not pay for it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gateway.schema import ChatCompletionRequest

CHAT_COMPLETIONS = "/v1/chat/completions"
EMBEDDINGS = "/v1/embeddings"


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    """Adds the chat and embeddings request bodies (read by hand, so not inferred) and the
    bearer auth."""
    if app.openapi_schema is None:
        from gateway.doors.embeddings import REQUEST_SCHEMA

        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        body = ChatCompletionRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {}).update(body.pop("$defs"))
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        for path, request in ((CHAT_COMPLETIONS, body), (EMBEDDINGS, REQUEST_SCHEMA)):
            schema["paths"][path]["post"]["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": request}},
            }
        app.openapi_schema = schema
    return app.openapi_schema
