"""Limits and prices as configured: invalid ones stop the start naming tenant and field;
a budgeted tenant that may use an unpriced route stops it too; cached tokens are priced
by their kind, once."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gateway.config import Settings
from gateway.core.chunks import Usage
from gateway.errors import ConfigurationError
from gateway.limits.admission import Limiter
from gateway.limits.prices import bundled_price
from gateway.limits.rules import Budget, Limits
from gateway.storage.counters_memory import MemoryCounters

PRICED = {"model": "openai/x", "api_base": "http://u", "price": {"input": 3, "output": 15}}


def settings(tenant: dict[str, object], models: dict[str, object] | None = None) -> Settings:
    return Settings.from_env(
        {
            "GATEWAY_API_KEYS": json.dumps({"acme": {"keys": ["k"], **tenant}}),
            "GATEWAY_MODELS": json.dumps(models or {"priced": PRICED | {"max_output_tokens": 9}}),
        }
    )


def test_limits_are_read_into_the_tenant() -> None:
    tenant = settings(
        {
            "limits": {
                "requests_per_minute": 5,
                "concurrent_requests": 2,
                "budget": {"usd": 1.5, "period": "day"},
            },
            "model_limits": {"priced": {"tokens_per_minute": 100}},
        }
    ).tenants[0]

    assert tenant.limits == Limits(5, None, 2, Budget(1_500_000_000_000, "day"))
    assert tenant.model_limits["priced"] == Limits(tokens_per_minute=100)
    assert tenant.refuse_without_store is True  # it has a budget


@pytest.mark.parametrize(
    ("tenant", "message"),
    [
        ({"limits": {"requests_per_minute": 0}}, "tenant 'acme' requests_per_minute must be"),
        ({"limits": {"tokens_per_minute": 1.5}}, "tenant 'acme' tokens_per_minute must be"),
        (
            {"limits": {"requests_per_hour": 1}},
            "tenant 'acme' has unknown limit 'requests_per_hour'",
        ),
        ({"limits": {"budget": {"usd": -1, "period": "day"}}}, "tenant 'acme' budget usd must"),
        ({"limits": {"budget": {"usd": 1, "period": "week"}}}, "tenant 'acme' budget period"),
        ({"limits": {"budget": {"usd": 1}}}, "tenant 'acme' budget period"),
        (
            {"model_limits": {"priced": {"concurrent_requests": True}}},
            "tenant 'acme' model 'priced' concurrent_requests must be",
        ),
        ({"if_store_unavailable": "maybe"}, "tenant 'acme' if_store_unavailable"),
        ({"usage_admin": "yes"}, "tenant 'acme' \"usage_admin\""),
    ],
)
def test_invalid_limits_stop_the_start_naming_tenant_and_field(
    tenant: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        settings(tenant)


def test_a_budgeted_tenant_that_may_use_an_unpriced_route_stops_the_start() -> None:
    configured = settings(
        {"limits": {"budget": {"usd": 1, "period": "month"}}},
        {
            "priced": PRICED | {"max_output_tokens": 100},
            "mystery": {"model": "openai/no-such-model-anywhere", "api_base": "http://u"},
        },
    )

    with pytest.raises(ConfigurationError, match=r"tenant 'acme' .* 'mystery', which has no price"):
        Limiter(configured, MemoryCounters(), lambda *_: None)


def test_a_budgeted_tenant_limited_to_priced_routes_starts() -> None:
    configured = settings(
        {"models": ["priced"], "limits": {"budget": {"usd": 1, "period": "month"}}},
        {
            "priced": PRICED | {"max_output_tokens": 100},
            "mystery": {"model": "openai/no-such-model-anywhere", "api_base": "http://u"},
        },
    )

    Limiter(configured, MemoryCounters(), lambda *_: None)


def test_cached_tokens_are_priced_by_their_kind_and_never_twice() -> None:
    route = settings(
        {},
        {
            "r": PRICED
            | {"price": {"input": 3, "output": 15, "cache_read": 0.3, "cache_write": 3.75}}
        },
    ).models["r"]
    assert route.price is not None
    usage: Usage = {
        "input_tokens": 1_000,
        "cache_read_tokens": 10_000,
        "cache_write_tokens": 2_000,
        "output_tokens": 500,
    }

    # $3/M x 1,000 + $0.30/M x 10,000 + $3.75/M x 2,000 + $15/M x 500, in picodollars.
    assert route.price.cost(usage) == (3_000 + 3_000 + 7_500 + 7_500) * 10**6


def test_litellms_bundled_prices_are_read_as_data_without_importing_litellm() -> None:
    code = (
        "import sys; from gateway.limits.prices import bundled_price;"
        "bundled_price('anthropic/claude-sonnet-4-5'); print('litellm' in sys.modules)"
    )
    imported = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": "functions"},
    )
    price = bundled_price("anthropic/claude-sonnet-4-5")

    assert imported.stdout.strip() == "False"
    assert price is not None
    assert (price.input, price.output, price.cache_read, price.cache_write) == (
        3_000_000,
        15_000_000,
        300_000,
        3_750_000,
    )
    assert price.max_output_tokens == 64_000
    assert bundled_price("openai/gpt-4o") is not None
    assert bundled_price("openai/no-such-model-anywhere") is None
