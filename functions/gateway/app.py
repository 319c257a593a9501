"""The FastAPI application and its Lambda handler.

`app` serves locally under uvicorn; `handler` is `Mangum(app)`, which the managed Lambda
runtime calls (buffered), and whose `.app` the streaming runtime layer serves (streamed).
"""

from __future__ import annotations

import gc

# Importing FastAPI, pydantic and the gateway allocates hundreds of thousands of objects
# that live as long as the process; the cyclic collector would walk them again and again
# while they are made. It is off until the app is built (below): about 8% of a cold start
# (`import gateway.app`, median of 21 fresh processes each way: 271 against 297 ms of CPU).
gc.disable()

import os
import time

# As it builds its first model, pydantic reads every installed distribution's entry points
# looking for plugins (observability hooks into validation); the gateway uses none. That
# read is 4.5 ms of CPU here, with 122 distributions installed. Set to "" to load them.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from mangum import Mangum

from gateway.cache.service import Clock
from gateway.completions import CompletionService
from gateway.config import Settings
from gateway.config_source import load_environment
from gateway.endpoints import router
from gateway.http_errors import install_error_handlers
from gateway.openapi import openapi_schema
from gateway.providers import Providers
from gateway.tenants import KeyStore


def create_app(settings: Settings | None = None, clock: Clock = time.time) -> FastAPI:
    """The app for `settings`; by default read from the environment and, if one is named,
    an SSM parameter or secret (a failure there stops the start: fail fast). `clock` dates
    cached answers (tests move it instead of waiting)."""
    settings = settings or Settings.from_env(load_environment(os.environ))
    providers = Providers(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await providers.aclose()

    app = FastAPI(
        title="LLM gateway",
        summary="OpenAI-compatible streaming chat completions",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    prepare_before_snapshot(providers, settings)
    app.state.settings = settings
    app.state.keys = KeyStore(settings.tenants)
    app.state.service = CompletionService(settings, providers, clock)
    if (settings.responses_store_url or "").startswith("dynamodb://"):
        # A shared store's client is built at start, as the cache's is, so that under
        # SnapStart it is in the snapshot; the embedded default opens on first use.
        from gateway.doors.responses_state import open_response_state

        app.state.responses = open_response_state(settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type"],
            expose_headers=[
                "x-request-id",
                "x-gateway-tenant-hash",
                "x-gateway-context-hash",
                "x-gateway-cache",
                "age",
                "retry-after",
            ],
        )
    install_error_handlers(app)
    app.include_router(router)
    app.openapi = partial(openapi_schema, app)  # type: ignore[method-assign]
    return app


def prepare_before_snapshot(providers: Providers, settings: Settings) -> None:
    """Under SnapStart, set up every configured route's provider before the snapshot.

    Importing LiteLLM takes seconds: done here, it is paid once when a version is
    published instead of by the first request of every restored environment. Without
    SnapStart nothing changes: providers are set up on first use, so a cold start serves
    direct routes without ever importing LiteLLM. Under SnapStart the managed runtime's
    `snapshot_restore_py` must be importable: without it the preparation could not run,
    so the import error fails the init instead of going unnoticed.
    """
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "snap-start":
        return
    from snapshot_restore_py import register_before_snapshot

    register_before_snapshot(providers.prepare, list(settings.models.values()))


try:
    app = create_app()
    handler = Mangum(app, lifespan="off")
finally:
    # What start-up made stays: frozen, later full collections no longer walk it.
    gc.freeze()
    gc.enable()
