"""The OpenAPI document, built when it is first asked for: `openapi_document` is not even
compiled at a cold start (Lambda compiles the gateway's own modules at every start)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        from gateway.openapi_document import build_document

        app.openapi_schema = build_document(app)
    return app.openapi_schema
