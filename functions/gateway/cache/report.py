"""How the cache tells its caller what it did: the caller turns it into logs and metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
