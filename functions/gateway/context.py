"""What the gateway computes once per request and passes explicitly to its handlers."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.config import ModelRoute, Settings, TenantConfig
from gateway.core.request import ClientRequest
from gateway.correlation import RequestHashes, request_hashes


@dataclass(frozen=True, slots=True)
class RequestContext:
    request_id: str
    """Also the response id the client sees (every chunk of a stream carries it)."""
    door: str
    """Which front door the request came through (`chat.completions`, ...)."""
    created: int
    started: float
    """`loop.time()` when the request arrived."""
    deadline: float
    """`loop.time()` by which the response must be complete."""
    tenant: TenantConfig
    route: ModelRoute
    hashes: RequestHashes
    """The correlation hashes of the tenant and the request."""
    stream: bool
    include_usage: bool
    lambda_request_id: str | None
    show_hashes: bool
    """Whether the hashes may leave the gateway: only when keyed with a configured key."""

    @classmethod
    def create(
        cls,
        settings: Settings,
        tenant: TenantConfig,
        route: ModelRoute,
        door: str,
        id_prefix: str,
        chat: ClientRequest,
        scope: Mapping[str, Any],
    ) -> RequestContext:
        now = asyncio.get_running_loop().time()
        deadline = now + settings.max_stream_seconds
        # On Lambda (through Mangum or the streaming runtime) the function's own deadline
        # applies too: end the stream with an error before Lambda cuts it off.
        lambda_context = scope.get("aws.context")
        remaining_ms = getattr(lambda_context, "get_remaining_time_in_millis", None)
        if remaining_ms is not None:
            lambda_deadline = now + remaining_ms() / 1000 - settings.deadline_margin_seconds
            deadline = min(deadline, lambda_deadline)
        return cls(
            request_id=id_prefix + secrets.token_hex(12),
            door=door,
            created=int(time.time()),
            started=now,
            deadline=deadline,
            tenant=tenant,
            route=route,
            hashes=request_hashes(tenant.tenant_id, chat.body, settings.hash_key),
            stream=chat.stream,
            include_usage=chat.include_usage,
            lambda_request_id=getattr(lambda_context, "aws_request_id", None),
            show_hashes=settings.hash_key_secret is not None,
        )

    def headers(self) -> dict[str, str]:
        """Correlation headers: the id, and the hashes when `GATEWAY_HASH_KEY` keys them
        (with the public default key anyone could confirm a guessed prompt or tenant)."""
        if not self.show_hashes:
            return {"x-request-id": self.request_id}
        return {
            "x-request-id": self.request_id,
            "x-gateway-tenant-hash": self.hashes.tenant_id_hex,
            "x-gateway-context-hash": self.hashes.context_hex,
        }
