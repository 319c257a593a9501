"""A store URL to a store; each backend's module is imported only when named."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.errors import ConfigurationError
from gateway.storage.counters import CounterStore
from gateway.storage.store import OwnerBounds, Store

_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")


def open_store(url: str, variable: str, bounds: OwnerBounds) -> Store:
    """The store `url` (the setting `variable`) names, keeping at most `bounds` for each
    owner; raises `ConfigurationError` (at start), naming `variable`, for anything else."""
    scheme, separator, location = url.partition("://")
    if not url or (scheme == "sqlite" and separator and location.startswith("/")):
        from gateway.storage.sqlite import DEFAULT_PATH, SqliteStore

        return SqliteStore(Path(location) if url else DEFAULT_PATH, bounds=bounds)
    if scheme == "memory" and separator and not location:
        from gateway.storage.memory import MemoryStore

        return MemoryStore(bounds=bounds)
    if scheme == "dynamodb" and separator and _TABLE_NAME.fullmatch(location):
        from gateway.storage.dynamodb import DynamoDbStore

        return DynamoDbStore(location, variable)
    raise ConfigurationError(
        f"{variable} must be empty (a SQLite file in the temp directory), memory://, "
        "sqlite:///absolute/path or dynamodb://TABLE"
    )


def open_counters(url: str, variable: str = "GATEWAY_USAGE_URL") -> CounterStore:
    """The usage counters `url` names, in the same URL syntax as `open_store`."""
    scheme, separator, location = url.partition("://")
    if not url or (scheme == "sqlite" and separator and location.startswith("/")):
        from gateway.storage.counters_sqlite import DEFAULT_PATH, SqliteCounters

        return SqliteCounters(Path(location) if url else DEFAULT_PATH)
    if scheme == "memory" and separator and not location:
        from gateway.storage.counters_memory import MemoryCounters

        return MemoryCounters()
    if scheme == "dynamodb" and separator and _TABLE_NAME.fullmatch(location):
        from gateway.storage.counters_dynamodb import DynamoDbCounters

        return DynamoDbCounters(location, variable)
    raise ConfigurationError(
        f"{variable} must be empty (a SQLite file in the temp directory), memory://, "
        "sqlite:///absolute/path or dynamodb://TABLE"
    )
