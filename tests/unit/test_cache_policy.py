"""Who decides what the cache does: the operator (TTLs, tenant opt-out), then the
client's Cache-Control, read with HTTP's rules."""

from __future__ import annotations

import json

import pytest

from gateway.cache.policy import CacheControl, caches_anything, decide
from gateway.config import Settings

MODELS = json.dumps(
    {
        "default": {"model": "echo"},
        "short": {"model": "echo", "cache_ttl_seconds": 30},
        "never": {"model": "echo", "cache_ttl_seconds": 0},
    }
)
TENANTS = json.dumps({"in": ["sk-in"], "out": {"keys": ["sk-out"], "cache": False}})


def settings(default_ttl: str) -> Settings:
    return Settings.from_env(
        {
            "GATEWAY_MODELS": MODELS,
            "GATEWAY_API_KEYS": TENANTS,
            "GATEWAY_CACHE_TTL_SECONDS": default_ttl,
        }
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, CacheControl()),
        ("", CacheControl()),
        ("no-cache", CacheControl(no_cache=True)),
        ("No-Store", CacheControl(no_store=True)),
        ("private, no-cache , max-age=30", CacheControl(no_cache=True, max_age=30)),
        ('max-age="12"', CacheControl(max_age=12)),
        ("max-age=60, max-age=5", CacheControl(max_age=5)),
        ("max-age=soon", CacheControl(max_age=0)),  # invalid: nothing is fresh enough
        ("max-age=-1", CacheControl(max_age=0)),
        ("max-age=\u00b2", CacheControl(max_age=0)),  # a digit to str.isdigit, not to int
        ("max-age=\u0663", CacheControl(max_age=0)),  # an Arabic-Indic three
        ("max-age=" + "9" * 5000, CacheControl(max_age=2**31)),  # past int()'s digit limit
        ("max-age=99999999999", CacheControl(max_age=2**31)),
        ("no-transform, only-if-cached", CacheControl()),
    ],
)
def test_cache_control_is_read_as_http_defines_it(
    header: str | None, expected: CacheControl
) -> None:
    assert CacheControl.parse(header) == expected


@pytest.mark.parametrize(
    ("default_ttl", "route", "expected"),
    [("0", "default", None), ("0", "short", 30), ("600", "default", 600), ("600", "never", None)],
)
def test_a_route_ttl_overrides_the_default_and_zero_turns_caching_off(
    default_ttl: str, route: str, expected: int | None
) -> None:
    s = settings(default_ttl)
    decision = decide(s, s.models[route], s.tenants[0], None)

    assert (decision and decision.ttl_seconds) == expected


def test_caching_is_on_when_any_route_caches() -> None:
    assert caches_anything(settings("0"))  # "short"
    only_default = Settings.from_env({"GATEWAY_CACHE_TTL_SECONDS": "0"})
    assert not caches_anything(only_default)
    assert caches_anything(Settings.from_env({"GATEWAY_CACHE_TTL_SECONDS": "5"}))


@pytest.mark.parametrize(
    ("tenant", "header", "read", "write", "status"),
    [
        (0, None, True, True, "miss"),
        (0, "no-cache", False, True, "miss"),
        (0, "no-store", False, False, "bypass"),
        (0, "no-cache, no-store", False, False, "bypass"),
        (1, None, False, False, "bypass"),  # the tenant opted out
        (1, "max-age=60", False, False, "bypass"),
    ],
)
def test_what_is_read_and_written(
    tenant: int, header: str | None, read: bool, write: bool, status: str
) -> None:
    s = settings("600")
    decision = decide(s, s.models["default"], s.tenants[tenant], header)

    assert decision is not None
    assert (decision.read, decision.write, decision.status) == (read, write, status)
