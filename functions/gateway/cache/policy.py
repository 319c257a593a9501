"""Whether a request may be answered from the cache, and whether its answer is kept.

The operator decides how long answers live (`GATEWAY_CACHE_TTL_SECONDS`, a route's
`cache_ttl_seconds`) and which tenants take part (a tenant's `"cache": false`); the
client narrows that per request with HTTP's `Cache-Control`:

- `no-cache`: do not answer from the cache (the new answer is still stored);
- `no-store`: neither read nor store;
- `max-age=N`: only an answer stored at most N seconds ago (an invalid N counts as 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.config import ModelRoute, Settings, TenantConfig

CacheStatus = Literal["hit", "miss", "bypass"]
"""The `x-gateway-cache` header: answered from the cache; answered by the provider and
stored (when complete); answered by the provider and not stored."""


def route_ttl(settings: Settings, route: ModelRoute) -> int:
    """How long `route`'s answers are kept; 0: the route does not cache."""
    if route.cache_ttl_seconds is not None:
        return route.cache_ttl_seconds
    return settings.cache_ttl_seconds


def caches_anything(settings: Settings) -> bool:
    return any(route_ttl(settings, route) > 0 for route in settings.models.values())


@dataclass(frozen=True, slots=True)
class CacheControl:
    no_cache: bool = False
    no_store: bool = False
    max_age: int | None = None

    @classmethod
    def parse(cls, header: str | None) -> CacheControl:
        if not header:
            return cls()
        no_cache = no_store = False
        max_age: int | None = None
        for directive in header.split(","):
            name, _, value = directive.strip().partition("=")
            name = name.strip().lower()
            if name == "no-cache":
                no_cache = True
            elif name == "no-store":
                no_store = True
            elif name == "max-age":
                age = _delta_seconds(value.strip().strip('"'))
                max_age = age if max_age is None else min(max_age, age)
        return cls(no_cache, no_store, max_age)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the cache does for one request to a caching route."""

    ttl_seconds: int
    read: bool
    write: bool
    max_age: int | None

    @property
    def status(self) -> CacheStatus:
        """The status until a lookup hits."""
        return "miss" if self.write else "bypass"


def decide(
    settings: Settings, route: ModelRoute, tenant: TenantConfig, cache_control: str | None
) -> Decision | None:
    """None when the route does not cache (no `x-gateway-cache` header then)."""
    ttl = route_ttl(settings, route)
    if ttl == 0:
        return None
    if not tenant.cache:
        return Decision(ttl, read=False, write=False, max_age=None)
    control = CacheControl.parse(cache_control)
    return Decision(
        ttl,
        read=not (control.no_cache or control.no_store),
        write=not control.no_store,
        max_age=control.max_age,
    )


_DELTA_SECONDS_CAP = 2**31
"""RFC 9111 (1.2.2): a delta-seconds larger than a cache can represent is taken as 2^31."""


def _delta_seconds(value: str) -> int:
    """An HTTP delta-seconds: ASCII digits only (`str.isdigit` also accepts "²", which
    `int` refuses), never parsed past 10 digits (Python refuses to parse 4,300); anything
    else is invalid, which counts as 0."""
    if not (value.isascii() and value.isdigit()):
        return 0
    return _DELTA_SECONDS_CAP if len(value) > 10 else min(int(value), _DELTA_SECONDS_CAP)
