"""The request log and metrics: one JSON line and one EMF record per request.

Both are written when the request ends (for a stream, just before its final message: on
Lambda the environment may be frozen once the response has ended), so neither delays the
first byte. They carry hashes and figures only: never message text or keys.
`POWERTOOLS_SERVICE_NAME` and `POWERTOOLS_METRICS_NAMESPACE` override the defaults;
`POWERTOOLS_METRICS_DISABLED=true` (set by `scripts/serve`) mutes metrics.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from gateway.cache.report import CacheReport, StoreOperation
from gateway.config import ModelRoute
from gateway.context import RequestContext
from gateway.core.chunks import Usage, UsageCount
from gateway.core.usage import total_tokens
from gateway.errors import GatewayError

if TYPE_CHECKING:
    from gateway.limits.admission import Settled

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "llm-gateway"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "LLMGateway"

logger = Logger(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)
# Powertools keeps buffering (and flushes every 100 values) even when metrics are disabled.
METRICS_ENABLED = not is_metrics_disabled()
_cold_start = True


def bounded_names(names: Iterable[object], most: int = 20, length: int = 64) -> list[str]:
    """Names a tenant chose (fields, tool types), bounded for a log line: a request may
    hold megabytes of them, a log record should not."""
    shown = sorted({str(name)[:length] for name in names})
    return shown[:most] + ([f"... {len(shown) - most} more"] if len(shown) > most else [])


def log_left_out(door: str, names: Iterable[str]) -> None:
    """What a door left out of a request because no route can honour it: once a request."""
    logger.info("fields left out", extra={"door": door, "left_out": bounded_names(names)})


def log_usage_store_failure(operation: str, error: Exception) -> None:
    """The usage store failed: a warning and a metric; the tenant's `if_store_unavailable`
    decides whether its request goes on."""
    logger.warning(
        "usage store unavailable",
        extra={"operation": operation, "error_type": type(error).__name__, "error": str(error)},
    )
    if METRICS_ENABLED:  # flushed with the request's own record
        metrics.add_metric(name="UsageStoreErrors", unit=MetricUnit.Count, value=1)


def log_store_failure(operation: StoreOperation, error: Exception) -> None:
    """A response-cache store failed (the request goes on): a warning, when it happens."""
    logger.warning(
        "response cache unavailable",
        extra={"operation": operation, "error_type": type(error).__name__, "error": str(error)},
    )


def log_request(
    context: RequestContext | None,
    served_by: ModelRoute | None = None,
    *,
    status: int,
    ended_at: float,
    error: GatewayError | None = None,
    first_chunk_at: float | None = None,
    chunks: int = 0,
    usage: Usage | None = None,
    disconnected: bool = False,
    cache: CacheReport | None = None,
    settled: Settled | None = None,
) -> None:
    """`served_by` is the route that answered (a fallback, perhaps), once one has;
    `usage`'s four counts (`core.chunks.Usage`) are logged under their own names, and
    counted as metrics unless the answer came from the response cache; `cache` is None
    unless the route caches; `settled` is what the request cost (`cost_usd`, absent for
    a route without a price), with the usage charged when it was estimated."""
    global _cold_start
    stream = context.stream if context is not None else False
    fields: dict[str, Any] = {"status": status, "stream": stream, "chunks": chunks}
    duration_ms = ttft_ms = None
    event = "request"
    if context is not None:
        event = context.door
        duration_ms = round((ended_at - context.started) * 1000, 1)
        fields |= {
            "request_id": context.request_id,
            "lambda_request_id": context.lambda_request_id,
            "tenant_id_hash": context.hashes.tenant_id_hex,
            "context_hash": context.hashes.context_hex,
            "model": context.route.name,
            "duration_ms": duration_ms,
        }
        if served_by is not None:
            fields["served_by"] = served_by.name
            fields["provider"] = served_by.provider
        if first_chunk_at is not None:
            ttft_ms = fields["ttft_ms"] = round((first_chunk_at - context.started) * 1000, 1)
    if error is not None:
        fields["error_type"] = type(error).__name__
        fields["error_code"] = error.code
    if disconnected:
        fields["client_disconnected"] = True
    if settled is not None and settled.estimated:
        usage = settled.usage
        fields["usage_estimated"] = True
    if usage is not None:
        fields.update(usage)
    cost = None if settled is None else settled.cost_usd
    if cost is not None:
        fields["cost_usd"] = cost
    if cache is not None:
        fields["cache"] = cache.status
        if cache.errors:
            fields["cache_errors"] = cache.errors
        if cache.too_large:
            fields["cache_too_large"] = True
        fields.update(_semantic_fields(cache))
    if _cold_start:
        fields["cold_start"] = True
    logger.info(event, extra=fields)

    if METRICS_ENABLED:
        _emit_metrics(error, ttft_ms, duration_ms if stream else None, cache, usage, cost)
    _cold_start = False


_TOKEN_METRICS: tuple[tuple[str, UsageCount], ...] = (
    ("InputTokens", "input_tokens"),
    ("CacheReadTokens", "cache_read_tokens"),
    ("CacheWriteTokens", "cache_write_tokens"),
    ("OutputTokens", "output_tokens"),
)
"""The four counts a provider bills separately, as metrics (`core.chunks.Usage`)."""


def _emit_metrics(
    error: GatewayError | None,
    ttft_ms: float | None,
    stream_ms: float | None,
    cache: CacheReport | None,
    usage: Usage | None,
    cost_usd: float | None,
) -> None:
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    if cost_usd:
        metrics.add_metric(name="SpendUSD", unit=MetricUnit.NoUnit, value=cost_usd)
    if cache is not None:
        _add_cache_metrics(cache, usage)
    if usage is not None and (cache is None or cache.status != "hit"):
        # An answer replayed from the response cache was not billed again.
        for name, count in _TOKEN_METRICS:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=usage[count])
    if _cold_start:
        metrics.add_metric(name="ColdStart", unit=MetricUnit.Count, value=1)
    if ttft_ms is not None:
        metrics.add_metric(name="TimeToFirstToken", unit=MetricUnit.Milliseconds, value=ttft_ms)
    if stream_ms is not None:
        metrics.add_metric(name="StreamDuration", unit=MetricUnit.Milliseconds, value=stream_ms)
    metrics.flush_metrics()
    if error is not None:
        with single_metric(
            name="Errors",
            unit=MetricUnit.Count,
            value=1,
            namespace=NAMESPACE,
            default_dimensions={"service": SERVICE},
        ) as metric:
            metric.add_dimension(name="ErrorType", value=error.code or "unknown")


def _semantic_fields(cache: CacheReport) -> dict[str, object]:
    """The semantic tier's part of the request log line (nothing when it took no part)."""
    fields: dict[str, object] = {}
    if cache.match is not None:
        fields["cache_match"] = cache.match
    if cache.similarity is not None:
        fields["cache_similarity"] = round(cache.similarity, 3)
    if cache.semantic is not None:
        fields["semantic"] = cache.semantic
    if cache.semantic_rejections:
        fields["semantic_rejections"] = dict(cache.semantic_rejections)
    if cache.semantic_lookup_ms is not None:
        fields["semantic_lookup_ms"] = round(cache.semantic_lookup_ms, 2)
    return fields


def _add_semantic_metrics(cache: CacheReport) -> None:
    if cache.match == "semantic":
        metrics.add_metric(name="SemanticHits", unit=MetricUnit.Count, value=1)
    for reason, count in cache.semantic_rejections.items():
        name = f"SemanticRejections{reason.capitalize()}"
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    if cache.semantic_lookup_ms is not None:
        metrics.add_metric(
            name="SemanticLookupTime", unit=MetricUnit.Milliseconds, value=cache.semantic_lookup_ms
        )


def _add_cache_metrics(cache: CacheReport, usage: Usage | None) -> None:
    _add_semantic_metrics(cache)
    if cache.status == "hit":
        metrics.add_metric(name="CacheHits", unit=MetricUnit.Count, value=1)
        if usage is not None:
            metrics.add_metric(name="TokensSaved", unit=MetricUnit.Count, value=total_tokens(usage))
    elif cache.status == "miss":
        metrics.add_metric(name="CacheMisses", unit=MetricUnit.Count, value=1)
    if cache.errors:
        metrics.add_metric(name="CacheErrors", unit=MetricUnit.Count, value=cache.errors)
    if cache.too_large:
        metrics.add_metric(name="CacheEntriesTooLarge", unit=MetricUnit.Count, value=1)
