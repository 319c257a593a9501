"""The HTTP endpoints: thin, they authenticate, read and hand over."""

from __future__ import annotations

import time
from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from gateway.completions import CompletionService
from gateway.config import Settings, TenantConfig
from gateway.doors.base import FrontDoor
from gateway.doors.chat import CHAT_COMPLETIONS
from gateway.doors.messages import MESSAGES
from gateway.doors.responses import RESPONSES
from gateway.doors.responses_native import RESPONSES_PASSTHROUGH
from gateway.doors.responses_state import ResponseState, check_handed, with_history
from gateway.errors import InvalidRequest, NotFound, PayloadTooLarge, UnsupportedMediaType
from gateway.off_loop import note_large, parse_off_loop
from gateway.tenants import KeyStore

router = APIRouter()

# Endpoints take `Request` (and dependencies that do) and return a `Response`: for any other
# parameter or return type FastAPI builds a pydantic field when the route is declared,
# and checks it against `pydantic.v1`, importing it: 20-40 ms of every cold start.


def _path_parameter(name: str, **extra: Any) -> dict[str, Any]:
    """OpenAPI for a path parameter that the endpoint reads from `request.path_params`."""
    parameter = {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
    return {"parameters": [parameter], **extra}


def _service(request: Request) -> CompletionService:
    service: CompletionService = request.app.state.service
    return service


def authenticate(request: Request) -> TenantConfig:
    keys: KeyStore = request.app.state.keys
    headers = request.headers
    return keys.authenticate(headers.get("authorization"), headers.get("x-api-key"))


Tenant = Annotated[TenantConfig, Depends(authenticate)]
Service = Annotated[CompletionService, Depends(_service)]


async def read_json(request: Request, limit: int) -> object:
    """The body as JSON, refusing anything over `limit` bytes before reading it all."""
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            "The request body must be JSON (Content-Type: application/json)."
        )
    too_large = PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise too_large
    note_large(request, len(body))
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON ({exc}).") from None
    try:
        # orjson reads 1,024 levels but writes 254: what the gateway stores or forwards it
        # writes again, so a deeper body is refused here, on every door, before a provider
        # is called (a C pass over the body: about 1.2 ms a MiB, 4.3 ms for 3.7 MiB of
        # small messages here).
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        raise InvalidRequest("The request body is nested too deeply.") from None
    return value


@router.head("/", include_in_schema=False)
async def root() -> Response:
    """Claude Code probes the base URL with `HEAD /` before its first request."""
    return Response()


@router.get("/health", include_in_schema=False)
async def health() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get("/v1/models")
async def list_models(tenant: Tenant, service: Service) -> Response:
    models = [_model(name) for name in service.models_for(tenant)]
    return _json({"object": "list", "data": models})


@router.get("/v1/usage", openapi_extra={"security": [{"bearer": []}]})
async def usage(request: Request, tenant: Tenant, service: Service) -> Response:
    """The calling tenant's usage per day and model; every tenant's for a key whose
    tenant is `usage_admin`."""
    from gateway.limits.report import report_days, usage_report

    start, end = report_days(request.query_params, time.time())
    settings: Settings = request.app.state.settings
    tenants = [t.tenant_id for t in settings.tenants] if tenant.usage_admin else [tenant.tenant_id]
    store = service.limiter.store
    return _json(await usage_report(store, tenants, start, end, tenant.usage_admin))


@router.get("/v1/models/{model}", openapi_extra=_path_parameter("model"))
async def retrieve_model(request: Request, tenant: Tenant, service: Service) -> Response:
    model: str = request.path_params["model"]
    service.route_for(tenant, model)
    return _json(_model(model))


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "gateway"}


def _json(content: object) -> Response:
    return Response(orjson.dumps(content), media_type="application/json")


@router.post(
    "/v1/chat/completions",
    # The body is read by hand (size limit, strict validation of the client's own JSON),
    # so FastAPI cannot infer its schema: `gateway.openapi` adds it when it is asked for.
    openapi_extra={"security": [{"bearer": []}]},
)
async def chat_completions(request: Request) -> Response:
    tenant, body = await _enter(request, CHAT_COMPLETIONS)
    return await _service(request).complete(request, tenant, CHAT_COMPLETIONS, body)


async def _enter(request: Request, door: FrontDoor) -> tuple[TenantConfig, object]:
    """Set the door (every error from here on takes its shape), authenticate, read the
    body. The completion endpoints call this instead of declaring dependencies: FastAPI's
    dependency solver costs about 0.6 ms a request (measured), all of it added to the time
    to first byte."""
    request.state.door = door
    tenant = authenticate(request)
    settings: Settings = request.app.state.settings
    return tenant, await read_json(request, settings.max_body_bytes)


@router.post("/v1/responses", openapi_extra={"security": [{"bearer": []}]})
async def create_response(request: Request) -> Response:
    """To a route whose provider serves the Responses API, the request passes through
    and the provider keeps its state (the gateway notes whose each response is); to the
    others it is translated and the gateway keeps the state."""
    tenant, body = await _enter(request, RESPONSES)
    state = _response_state(request, tenant)
    service = _service(request)
    if route := service.native_route(tenant, RESPONSES_PASSTHROUGH, body):
        await check_handed(state, tenant.tenant_id, body)
        claim = None if state is None else partial(state.claim, tenant.tenant_id)
        return await service.pass_through(
            request, tenant, RESPONSES, RESPONSES_PASSTHROUGH, route, body, claim
        )
    if isinstance(body, dict) and body.get("previous_response_id") is not None:
        # The stored conversation it names may be as large as a body.
        note_large(request, request.app.state.settings.max_body_bytes)
    body = await with_history(state, tenant.tenant_id, body)
    keep = None if state is None else partial(state.save, tenant.tenant_id)
    return await service.complete(request, tenant, RESPONSES, body, keep)


@router.post("/v1/embeddings", openapi_extra={"security": [{"bearer": []}]})
async def embeddings(request: Request) -> Response:
    """The door is imported with its first request: most deployments never embed."""
    from gateway.doors.embeddings import EMBEDDINGS

    tenant, body = await _enter(request, EMBEDDINGS)
    return await _service(request).embed(request, tenant, EMBEDDINGS, body)


@router.get(
    "/v1/responses/{response_id}",
    openapi_extra=_path_parameter("response_id", security=[{"bearer": []}]),
)
async def retrieve_response(request: Request, tenant: Tenant) -> Response:
    response_id: str = request.path_params["response_id"]
    state = _response_state(request, tenant)
    if state is None:
        raise NotFound(f"No response with id '{response_id}' found: responses are not stored.")
    return _json(await state.retrieve(tenant.tenant_id, response_id))


def _response_state(request: Request, tenant: TenantConfig) -> ResponseState | None:
    """Where `tenant`'s responses are kept: nowhere for a tenant that opted out of kept
    state (`"cache": false`). Opened on first use: a store's module is imported only
    when a Responses request needs it (cold start)."""
    if not tenant.cache:
        return None
    app_state = request.app.state
    if not hasattr(app_state, "responses"):
        from gateway.doors.responses_state import open_response_state

        settings: Settings = app_state.settings
        app_state.responses = open_response_state(settings)
    state: ResponseState | None = app_state.responses
    return state


# Anthropic's endpoints take either key (bearer or x-api-key), which FastAPI cannot declare:
# they are left out of its schema, and `gateway.openapi_document` describes them (request
# body and both keys) with every other door.
@router.post("/v1/messages", include_in_schema=False)
async def messages(request: Request) -> Response:
    """Anthropic's Messages API. The door is set first, so that even a missing key is
    answered in Anthropic's error shape; `anthropic-version`, `anthropic-beta` and
    `?beta=true` are accepted and need nothing."""
    tenant, body = await _enter(request, MESSAGES)
    return await _service(request).complete(request, tenant, MESSAGES, body)


@router.post("/v1/messages/count_tokens", include_in_schema=False)
async def count_tokens(request: Request) -> Response:
    """An estimate (see `messages_request.estimate_input_tokens`), for models the tenant
    may use."""
    tenant, body = await _enter(request, MESSAGES)
    model, tokens = await parse_off_loop(request, MESSAGES.count_tokens, body)
    _service(request).route_for(tenant, model)
    return Response(b'{"input_tokens":%d}' % tokens, media_type="application/json")
