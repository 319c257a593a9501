"""Cache settings: off by default, TTLs in whole seconds, tenants may opt out; a bad
value stops the start and names the setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gateway.config import Settings
from gateway.errors import ConfigurationError


def test_caching_is_off_by_default() -> None:
    settings = Settings.from_env({})

    assert settings.cache_ttl_seconds == 0
    assert settings.cache_url == ""
    assert settings.models["echo"].cache_ttl_seconds is None


def test_ttls_the_url_and_the_tenant_opt_out_are_read() -> None:
    settings = Settings.from_env(
        {
            "GATEWAY_CACHE_TTL_SECONDS": "600",
            "GATEWAY_CACHE_URL": " dynamodb://table ",
            "GATEWAY_MODELS": json.dumps({"m": {"model": "echo", "cache_ttl_seconds": 30}}),
            "GATEWAY_API_KEYS": json.dumps(
                {"a": ["sk-a"], "b": {"keys": ["sk-b"], "cache": False}}
            ),
        }
    )

    assert (settings.cache_ttl_seconds, settings.cache_url) == (600, "dynamodb://table")
    assert settings.models["m"].cache_ttl_seconds == 30
    assert [t.cache for t in settings.tenants] == [True, False]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GATEWAY_CACHE_TTL_SECONDS": "-1"}, "GATEWAY_CACHE_TTL_SECONDS must be a whole"),
        ({"GATEWAY_CACHE_TTL_SECONDS": "1.5"}, "GATEWAY_CACHE_TTL_SECONDS must be a whole"),
        ({"GATEWAY_CACHE_TTL_SECONDS": "soon"}, "GATEWAY_CACHE_TTL_SECONDS must be a whole"),
        (
            {"GATEWAY_MODELS": '{"m": {"model": "echo", "cache_ttl_seconds": true}}'},
            "'m' cache_ttl_seconds must be a whole",
        ),
        (
            {"GATEWAY_MODELS": '{"m": {"model": "echo", "cache_ttl_seconds": -5}}'},
            "'m' cache_ttl_seconds must be a whole",
        ),
        (
            {"GATEWAY_API_KEYS": '{"t": {"keys": ["sk-leak"], "cache": "no"}}'},
            "tenant 't' \"cache\" must be true or false",
        ),
    ],
)
def test_invalid_cache_settings_fail_at_start(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        Settings.from_env(env)
    assert "sk-leak" not in str(raised.value)


def test_without_a_caching_route_no_store_is_opened_or_imported() -> None:
    """Cold start: with caching off, neither sqlite3 nor boto3 is imported, and the URL
    is not even looked at."""
    code = (
        "import sys; import gateway.app;"
        "print(sorted(m for m in ('sqlite3', 'boto3', 'gateway.storage.sqlite',"
        " 'gateway.storage.dynamodb') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": "functions", "GATEWAY_CACHE_URL": "dynamodb://t"},
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("store_url", "opened_at_start"),
    [("dynamodb://responses-table", ["boto3", "gateway.storage.dynamodb"]), ("", [])],
)
def test_a_shared_responses_store_is_opened_at_start_the_embedded_one_on_first_use(
    store_url: str, opened_at_start: list[str]
) -> None:
    """Under SnapStart what is built at start is in the snapshot: a DynamoDB client for
    stored responses is; the embedded SQLite file waits for a request that needs it."""
    code = (
        "import sys; import gateway.app;"
        "print(sorted(m for m in ('sqlite3', 'boto3', 'gateway.storage.sqlite',"
        " 'gateway.storage.dynamodb') if m in sys.modules))"
    )
    env = {
        "PYTHONPATH": "functions",
        "GATEWAY_RESPONSES_STORE_URL": store_url,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "PATH": os.environ.get("PATH", ""),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    )
    assert out.stdout.strip().splitlines()[-1] == str(opened_at_start)
