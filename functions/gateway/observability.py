"""The structured request log: one JSON line per request, hashes only, never text or keys."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from gateway.context import RequestContext
from gateway.errors import GatewayError

logger = Logger(service="llm-gateway")  # POWERTOOLS_SERVICE_NAME overrides the name


def log_request(
    context: RequestContext | None,
    *,
    status: int,
    stream: bool,
    ended_at: float,
    error: GatewayError | None = None,
    first_chunk_at: float | None = None,
    chunks: int = 0,
    usage: dict[str, Any] | None = None,
    disconnected: bool = False,
) -> None:
    fields: dict[str, Any] = {"status": status, "stream": stream, "chunks": chunks}
    if context is not None:
        fields |= {
            "request_id": context.request_id,
            "lambda_request_id": context.lambda_request_id,
            "tenant_id_hash": context.cache_keys.tenant_id_hex,
            "context_hash": context.cache_keys.context_hex,
            "model": context.route.name,
            "provider": context.route.provider,
            "duration_ms": round((ended_at - context.started) * 1000, 1),
        }
        if first_chunk_at is not None:
            fields["ttft_ms"] = round((first_chunk_at - context.started) * 1000, 1)
    if error is not None:
        fields["error_type"] = type(error).__name__
        fields["error_code"] = error.code
    if disconnected:
        fields["client_disconnected"] = True
    if usage:
        fields["prompt_tokens"] = usage.get("prompt_tokens")
        fields["completion_tokens"] = usage.get("completion_tokens")
    logger.info("chat.completions", extra=fields)
