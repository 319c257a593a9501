"""How the cache tells its caller what it did: the caller turns it into logs and metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from gateway.cache.policy import CacheStatus

StoreOperation = Literal["read", "write"]
StoreFailed = Callable[[StoreOperation, Exception], None]
"""Told of each store failure as it happens."""


@dataclass(slots=True)
class CacheReport:
    """What the response cache did for one request, filled in while the request runs and
    written to the request log and metrics when it ends."""

    status: CacheStatus
    errors: int = 0
    """Store failures (each also handed to a `StoreFailed` when it happened)."""
    too_large: bool = False
    """A complete answer was not stored: over the store's entry limit."""
    match: Literal["exact", "semantic"] | None = None
    """Which tier answered a hit."""
    similarity: float | None = None
    """A semantic hit's similarity to the question whose answer it replayed."""
    semantic: Literal["ineligible"] | None = None
    """Set when the route uses the semantic tier but this request may not."""
    semantic_rejections: dict[str, int] = field(default_factory=dict)
    """Candidates the semantic tier refused, by the check that refused them."""
    semantic_lookup_ms: float | None = None
    """How long the semantic lookup took, when there was one."""
