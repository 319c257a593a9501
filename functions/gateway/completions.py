"""Serving a chat completion: route, open the provider, stream or collect, log."""

from __future__ import annotations

import asyncio
import random
from functools import partial
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.aggregate import collect
from gateway.config import ModelRoute, Settings, TenantConfig
from gateway.context import RequestContext
from gateway.disconnect import ClientDisconnected, unless_disconnected
from gateway.errors import (
    ModelNotFound,
    UpstreamFailed,
    UpstreamRateLimited,
    UpstreamTimeout,
)
from gateway.event_stream import EventStreamResponse, StreamLimits, StreamOutcome
from gateway.observability import log_request
from gateway.providers import Providers
from gateway.providers.base import ChunkStream, UpstreamRequest
from gateway.schema import parse_chat_request
from gateway.sse import ChunkFramer

RETRY_BACKOFF_SECONDS = 0.2
# Fields each provider sets itself; every other field the client sent is passed on.
_GATEWAY_FIELDS = frozenset({"model", "stream", "stream_options"})


class CompletionService:
    def __init__(self, settings: Settings, providers: Providers) -> None:
        self._settings = settings
        self._providers = providers

    def models_for(self, tenant: TenantConfig) -> list[str]:
        return [name for name in self._settings.models if tenant.may_use(name)]

    def route_for(self, tenant: TenantConfig, model: str) -> ModelRoute:
        route = self._settings.models.get(model)
        if route is None or not tenant.may_use(model):
            # One answer for both, so a tenant cannot probe which models exist.
            raise ModelNotFound(
                f"The model '{model}' does not exist or you do not have access to it.",
                param="model",
            )
        return route

    async def complete(self, request: Request, tenant: TenantConfig, raw_body: object) -> Response:
        parsed, body = parse_chat_request(raw_body)
        route = self.route_for(tenant, parsed.model)
        include_usage = bool(
            parsed.stream and parsed.stream_options and parsed.stream_options.include_usage
        )
        context = RequestContext.create(
            self._settings, tenant, route, body, bool(parsed.stream), include_usage, request.scope
        )
        request.state.context = context  # for the error log, should anything fail now
        loop = asyncio.get_running_loop()
        params = {k: v for k, v in body.items() if k not in _GATEWAY_FIELDS}
        forward = self._settings.forward_headers
        headers = {k: v for k, v in request.headers.items() if k in forward}
        chunks = await self._open(context, params, headers)
        if parsed.stream:
            return EventStreamResponse(
                chunks,
                ChunkFramer(context.request_id, context.created, route.name, include_usage),
                StreamLimits(
                    keepalive_seconds=self._settings.keepalive_seconds,
                    idle_timeout_seconds=self._settings.idle_timeout_seconds,
                    deadline=context.deadline,
                ),
                context.headers(),
                on_complete=partial(_log_stream, context),
            )
        try:
            builder = await unless_disconnected(
                collect(chunks, self._settings.idle_timeout_seconds, context.deadline),
                request.receive,
            )
        except ClientDisconnected:
            log_request(context, status=499, stream=False, ended_at=loop.time(), disconnected=True)
            return Response(status_code=499)  # nobody is left to read it
        log_request(context, status=200, stream=False, ended_at=loop.time(), usage=builder.usage)
        completion: dict[str, Any] = builder.completion(
            context.request_id, context.created, route.name
        )
        return Response(
            orjson.dumps(completion), media_type="application/json", headers=context.headers()
        )

    async def _open(
        self, context: RequestContext, params: dict[str, Any], headers: dict[str, str]
    ) -> ChunkStream:
        """Open the upstream stream. Nothing has reached the client yet, so a failure may be
        tried again: on the route's fallback at once if it has one, otherwise once more on
        the same route after a short backoff when the failure is transient."""
        route = context.route
        try:
            return await self._open_route(route, context, params, headers)
        except (UpstreamFailed, UpstreamRateLimited, UpstreamTimeout) as error:
            if route.fallback is not None:
                route = self._settings.models[route.fallback]
            elif error.retryable and self._time_left(context) > 2 * RETRY_BACKOFF_SECONDS:
                await asyncio.sleep(RETRY_BACKOFF_SECONDS * (0.5 + random.random()))  # noqa: S311
            else:
                raise
        return await self._open_route(route, context, params, headers)

    async def _open_route(
        self,
        route: ModelRoute,
        context: RequestContext,
        params: dict[str, Any],
        headers: dict[str, str],
    ) -> ChunkStream:
        timeout = min(self._settings.upstream_timeout_seconds, self._time_left(context))
        upstream = UpstreamRequest(
            route=route, params=params, timeout_seconds=max(0.001, timeout), headers=headers
        )
        return await self._providers.for_route(route).open(upstream)

    @staticmethod
    def _time_left(context: RequestContext) -> float:
        return context.deadline - asyncio.get_running_loop().time()


def _log_stream(context: RequestContext, outcome: StreamOutcome) -> None:
    log_request(
        context,
        status=200,
        stream=True,
        ended_at=outcome.ended_at,
        error=outcome.error,
        first_chunk_at=outcome.first_chunk_at,
        chunks=outcome.chunks,
        usage=outcome.usage,
        disconnected=outcome.disconnected,
    )
