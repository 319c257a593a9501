"""Serving a completion for any door: route, the cache, else the provider; stream or
collect; log."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.aggregate import CompletionBuilder, collect
from gateway.cache.report import CacheReport
from gateway.cache.service import CacheTicket, Clock, ResponseCache
from gateway.cache.streams import ReplayStream
from gateway.claude_fields import left_out_for_route, params_for_route
from gateway.config import ModelRoute, NativeProtocol, Settings, TenantConfig
from gateway.context import RequestContext
from gateway.core.chunks import ChunkStream, Usage
from gateway.disconnect import ClientDisconnected, unless_disconnected
from gateway.doors.base import (
    Door,
    Keep,
    KeepNative,
    NativeRequest,
    Passthrough,
    Reply,
    RequestT,
)
from gateway.errors import (
    GatewayError,
    ModelNotFound,
    UpstreamFailed,
    UpstreamRateLimited,
    UpstreamTimeout,
)
from gateway.event_stream import EventStreamResponse, StreamLimits, StreamOutcome
from gateway.limits.admission import Limiter, Reservation
from gateway.limits.estimate import input_token_bound
from gateway.limits.meter import Metered, Relayed
from gateway.observability import (
    log_left_out,
    log_request,
    log_store_failure,
    log_usage_store_failure,
)
from gateway.off_loop import parse_off_loop
from gateway.params import EMBEDDING_PARAMS, ProviderParams, check_allowances, split_params
from gateway.providers import Providers
from gateway.providers.base import NativeUpstreamRequest, UpstreamRequest
from gateway.storage.backends import open_counters

if TYPE_CHECKING:  # imported when the first embeddings request arrives (cold start)
    from gateway.core.embeddings import Embeddings
    from gateway.doors.embeddings import EmbeddingsDoor

RETRY_BACKOFF_SECONDS = 0.2
T = TypeVar("T")


class CompletionService:
    def __init__(self, settings: Settings, providers: Providers, clock: Clock = time.time) -> None:
        self._settings = settings
        self._providers = providers
        self._cache = ResponseCache(settings, log_store_failure, clock)
        self.limiter = Limiter(
            settings, open_counters(settings.usage_url), log_usage_store_failure, clock
        )

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

    async def complete(
        self,
        request: Request,
        tenant: TenantConfig,
        door: Door[RequestT],
        raw_body: object,
        keep: Keep[RequestT] | None = None,
    ) -> Response:
        """Serve `raw_body` through `door`; `keep`, if given, gets the finished response
        body before its last byte (streamed) or before it is sent (not streamed)."""
        passthrough = door.passthrough
        if passthrough is not None and (route := self.native_route(tenant, passthrough, raw_body)):
            return await self.pass_through(request, tenant, door, passthrough, route, raw_body)
        chat = await parse_off_loop(request, door.parse, raw_body)
        keep_body = None if keep is None else partial(keep, chat)
        provider_params = split_params(chat.body)
        route = self.route_for(tenant, chat.model)
        if left_out := chat.left_out | left_out_for_route(chat, route):
            log_left_out(door.name, left_out)
        context = RequestContext.create(
            self._settings, tenant, route, door.name, door.id_prefix, chat, request.scope
        )
        request.state.context = context  # for the error log, should anything fail now
        # Every answer, whatever path serves it, is admitted here and settled where it
        # ends (`_end_stream`, `_collect`); a call that fails before it is released.
        reservation = await self.limiter.admit(tenant, route, chat.body, door.limit_headers)
        cache = self._cache.ticket(route, tenant, chat.body, request.headers.get("cache-control"))
        params_for = partial(params_for_route, chat, provider_params)
        try:
            served_by, opened = await self._answer(request, context, params_for, cache)
        except BaseException:
            await reservation.release()
            raise
        chunks = Metered(opened)
        reply = Reply(context.request_id, context.created, served_by.name)
        headers = context.headers() | door.limit_headers(
            reservation.allowances, reservation.admitted_at
        )
        if cache is not None:
            headers |= cache.headers()
        report = None if cache is None else cache.report
        if chat.stream:
            return EventStreamResponse(
                chunks,
                door.stream_format(reply, chat),
                self._limits(context),
                headers,
                on_complete=partial(_end_stream, context, served_by, report, reservation, chunks),
                keep=keep_body,
            )
        builder = await self._collect(request, context, served_by, chunks, report, reservation)
        if builder is None:
            return Response(status_code=499)  # nobody is left to read it
        body = door.render(builder, reply, chat)
        if keep_body is not None:
            await keep_body(body)
        return Response(orjson.dumps(body), media_type="application/json", headers=headers)

    async def embed(
        self, request: Request, tenant: TenantConfig, door: EmbeddingsDoor, raw_body: object
    ) -> Response:
        """Serve an embeddings request: the same route, allow-list, retry and fallback and
        request log as a completion; not cached (the cache holds chunk streams)."""
        parsed = await parse_off_loop(request, door.parse, raw_body)
        params = split_params(parsed.body, EMBEDDING_PARAMS)
        route = self.route_for(tenant, parsed.model)
        context = RequestContext.create(
            self._settings, tenant, route, door.name, door.id_prefix, parsed, request.scope
        )
        request.state.context = context
        # Embeddings generate nothing: the input bounds the tokens (and is what a client
        # that leaves is charged), and no output is reserved.
        reservation = await self.limiter.admit(
            tenant,
            route,
            {**parsed.body, "max_tokens": 0},
            door.limit_headers,
            partial(input_token_bound, parsed.body),
        )
        headers = context.headers() | door.limit_headers(
            reservation.allowances, reservation.admitted_at
        )
        embedding = self._open(
            context,
            partial(
                self._embed_route, context=context, params=params, headers=self._forwarded(request)
            ),
        )
        answered = await self._whole_answer(
            request, context, reservation, embedding, lambda answer: answer.usage
        )
        if answered is None:
            return Response(status_code=499)
        served_by, answer = answered
        body = door.render(answer, parsed, served_by.name)
        return Response(body, media_type="application/json", headers=headers)

    async def _answer(
        self,
        request: Request,
        context: RequestContext,
        params: Callable[[ModelRoute], ProviderParams],
        cache: CacheTicket | None,
    ) -> tuple[ModelRoute, ChunkStream]:
        """The stored answer if there is one, else the provider's (recorded if it may be
        stored); returns the route that answered and its chunks."""
        if cache is not None and (answer := await cache.lookup()) is not None:
            return self._settings.models.get(answer.model, context.route), ReplayStream(
                answer.chunks
            )
        served_by, chunks = await self._open(
            context,
            partial(
                self._open_route, context=context, params=params, headers=self._forwarded(request)
            ),
        )
        if cache is not None:
            chunks = cache.record(chunks, served_by)
        return served_by, chunks

    async def _collect(
        self,
        request: Request,
        context: RequestContext,
        served_by: ModelRoute,
        chunks: Metered,
        cache: CacheReport | None,
        reservation: Reservation,
    ) -> CompletionBuilder | None:
        """The whole answer, collected, settled and logged; None when the client left
        first."""
        loop = asyncio.get_running_loop()
        hit = cache is not None and cache.status == "hit"
        try:
            builder = await unless_disconnected(
                collect(chunks, self._settings.idle_timeout_seconds, context.deadline),
                request.receive,
            )
        except GatewayError as error:
            await reservation.settle(served_by, chunks.usage, chunks.generated, hit)
            # The provider had started generating: another attempt would bill it again.
            raise _final(error, always=True) from None
        except ClientDisconnected:
            settled = await reservation.settle(served_by, chunks.usage, chunks.generated, hit)
            log_request(
                context,
                served_by,
                status=499,
                ended_at=loop.time(),
                disconnected=True,
                cache=cache,
                settled=settled,
            )
            return None
        settled = await reservation.settle(served_by, builder.usage, chunks.generated, hit)
        log_request(
            context,
            served_by,
            status=200,
            ended_at=loop.time(),
            usage=builder.usage,
            cache=cache,
            settled=settled,
        )
        return builder

    def _forwarded(self, request: Request) -> dict[str, str]:
        """The client's headers on the operator's allow-list."""
        forward = self._settings.forward_headers
        return {k: v for k, v in request.headers.items() if k in forward}

    async def _open(
        self,
        context: RequestContext,
        open_route: Callable[[ModelRoute], Awaitable[T]],
        may_serve: Callable[[ModelRoute], bool] = lambda route: True,
    ) -> tuple[ModelRoute, T]:
        """Open the upstream answer on the request's route; returns the route that served
        and what `open_route` gave.

        Nothing has reached the client yet, so a failure may be tried again: on the
        route's fallback at once if it has one the tenant may use (and `may_serve`),
        otherwise once more on the same route after a short backoff when the failure is
        transient.
        """
        route = context.route
        try:
            return route, await open_route(route)
        except (UpstreamFailed, UpstreamRateLimited, UpstreamTimeout) as error:
            fallback = route.fallback
            if (
                fallback is not None
                and context.tenant.may_use(fallback)
                and may_serve(self._settings.models[fallback])
            ):
                route = self._settings.models[fallback]
            elif error.retryable and self._time_left(context) > 2 * RETRY_BACKOFF_SECONDS:
                await asyncio.sleep(RETRY_BACKOFF_SECONDS * (0.5 + random.random()))  # noqa: S311
            else:
                raise _final(error) from None
        try:
            return route, await open_route(route)
        except GatewayError as error:
            raise _final(error) from None

    async def _open_route(
        self,
        route: ModelRoute,
        *,
        context: RequestContext,
        params: Callable[[ModelRoute], ProviderParams],
        headers: dict[str, str],
    ) -> ChunkStream:
        upstream = self._upstream(route, context, params(route), headers)
        return await self._providers.for_route(route).open(upstream)

    async def _embed_route(
        self,
        route: ModelRoute,
        *,
        context: RequestContext,
        params: ProviderParams,
        headers: dict[str, str],
    ) -> Embeddings:
        upstream = self._upstream(route, context, params, headers)
        return await self._providers.for_route(route).embed(upstream)

    def _upstream(
        self,
        route: ModelRoute,
        context: RequestContext,
        params: ProviderParams,
        headers: dict[str, str],
    ) -> UpstreamRequest:
        """The request to `route`, if its allowances let `params` through."""
        check_allowances(route.allow, params)
        timeout = min(self._settings.upstream_timeout_seconds, self._time_left(context))
        return UpstreamRequest(
            route=route,
            params=params.params,
            extra_body=params.extra_body,
            timeout_seconds=max(0.001, timeout),
            headers=headers,
        )

    def native_route(
        self, tenant: TenantConfig, passthrough: Passthrough, body: object
    ) -> ModelRoute | None:
        """The route, if the request goes to one whose provider speaks the door's protocol
        (anything else, a model the tenant may not use included, takes the door's usual
        path, which answers it)."""
        model = passthrough.model(body)
        route = None if model is None else self._settings.models.get(model)
        if route is None or not tenant.may_use(route.name):
            return None
        return route if route.native_protocol == passthrough.protocol else None

    async def pass_through(
        self,
        request: Request,
        tenant: TenantConfig,
        door: Door[RequestT],
        passthrough: Passthrough,
        route: ModelRoute,
        raw_body: object,
        keep: KeepNative | None = None,
    ) -> Response:
        """Serve a request in its door's protocol, untranslated, by a provider that speaks
        it (`route`, from `native_route`); a fallback is tried only if it speaks it too.
        The response cache is not consulted: it keeps chunks, and a native answer is none.
        `keep`, if given, gets the response object the answer amounts to (see `Keep`)."""
        forwarded = self._forwarded(request)
        native = await parse_off_loop(
            request,
            lambda body: passthrough.check(body, route, request.headers, forwarded),
            raw_body,
        )
        if native.left_out:
            log_left_out(door.name, native.left_out)
        context = RequestContext.create(
            self._settings, tenant, route, door.name, door.id_prefix, native, request.scope
        )
        request.state.context = context
        reservation = await self.limiter.admit(
            tenant,
            route,
            native.body,
            door.limit_headers,
            partial(passthrough.estimate_input_tokens, native.body),
        )
        headers = context.headers() | door.limit_headers(
            reservation.allowances, reservation.admitted_at
        )
        speaks = partial(_speaks, passthrough.protocol)
        native_for = self._providers.native_for
        if native.stream:
            try:
                served_by, events = await self._open(
                    context,
                    lambda r: native_for(r).stream(self._native_upstream(r, native, context)),
                    speaks,
                )
            except BaseException:
                await reservation.release()
                raise
            relayed = passthrough.stream_format()
            return EventStreamResponse(
                events,
                relayed,
                self._limits(context),
                headers,
                on_complete=partial(_end_stream, context, served_by, None, reservation, relayed),
                keep=keep,
            )
        answering = self._open(
            context,
            lambda r: native_for(r).answer(self._native_upstream(r, native, context)),
            speaks,
        )
        answered = await self._whole_answer(
            request, context, reservation, answering, passthrough.usage
        )
        if answered is None:
            return Response(status_code=499)
        if keep is not None:
            await keep(passthrough.answer_object(answered[1]))
        return Response(answered[1], media_type="application/json", headers=headers)

    @staticmethod
    async def _whole_answer(
        request: Request,
        context: RequestContext,
        reservation: Reservation,
        answering: Awaitable[tuple[ModelRoute, T]],
        usage_of: Callable[[T], Usage | None],
    ) -> tuple[ModelRoute, T] | None:
        """A non-streamed answer, awaited while watching for the client to leave, then
        settled and logged; None when the client left (settled as generated so far,
        logged as 499). A failure releases the reservation."""
        loop = asyncio.get_running_loop()
        try:
            served_by, answer = await unless_disconnected(answering, request.receive)
            usage = usage_of(answer)
        except ClientDisconnected:
            settled = await reservation.settle(context.route, None, 0, cache_hit=False)
            log_request(
                context, status=499, ended_at=loop.time(), disconnected=True, settled=settled
            )
            return None
        except BaseException:
            await reservation.release()
            raise
        settled = await reservation.settle(served_by, usage, 0, cache_hit=False)
        log_request(
            context, served_by, status=200, ended_at=loop.time(), usage=usage, settled=settled
        )
        return served_by, answer

    def _native_upstream(
        self, route: ModelRoute, native: NativeRequest, context: RequestContext
    ) -> NativeUpstreamRequest:
        """A streamed answer must start within the upstream timeout; a non-streamed one
        arrives whole, and has until the request's deadline."""
        time_left = self._time_left(context)
        timeout = min(self._settings.upstream_timeout_seconds, time_left)
        return NativeUpstreamRequest(
            route=route,
            body=native.body,
            headers=native.headers,
            timeout_seconds=max(0.001, timeout if native.stream else time_left),
        )

    def _limits(self, context: RequestContext) -> StreamLimits:
        return StreamLimits(
            keepalive_seconds=self._settings.keepalive_seconds,
            idle_timeout_seconds=self._settings.idle_timeout_seconds,
            deadline=context.deadline,
        )

    @staticmethod
    def _time_left(context: RequestContext) -> float:
        return context.deadline - asyncio.get_running_loop().time()


def _final(error: GatewayError, always: bool = False) -> GatewayError:
    """Tell the client's SDK not to try again where that cannot help: the gateway has
    already retried, or the failure is not transient, or (`always`) a retry would bill
    the provider's output twice. Rate limits keep their `Retry-After`: waiting helps."""
    if always or (error.status >= 500 and not isinstance(error, UpstreamTimeout)):
        error.headers["x-should-retry"] = "false"
    return error


def _speaks(protocol: NativeProtocol, route: ModelRoute) -> bool:
    return route.native_protocol == protocol


async def _end_stream(
    context: RequestContext,
    served_by: ModelRoute,
    cache: CacheReport | None,
    reservation: Reservation,
    relayed: Relayed,
    outcome: StreamOutcome,
) -> None:
    """Settle the stream (before its last byte: on Lambda nothing runs after it), then log."""
    hit = cache is not None and cache.status == "hit"
    settled = await reservation.settle(
        served_by, relayed.usage, relayed.generated, hit, relayed.usage_complete
    )
    log_request(
        context,
        served_by,
        status=200,
        ended_at=outcome.ended_at,
        error=outcome.error,
        first_chunk_at=outcome.first_chunk_at,
        chunks=outcome.chunks,
        usage=outcome.usage,
        disconnected=outcome.disconnected,
        cache=cache,
        settled=settled,
    )
