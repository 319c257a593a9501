"""Configuration from SSM Parameter Store and Secrets Manager (emulated by moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from gateway.config import Settings
from gateway.config_source import load_environment
from gateway.errors import ConfigurationError

CONFIG = {
    "GATEWAY_API_KEYS": {"acme": ["sk-from-ssm"]},
    "PROVIDER_KEY": "sk-provider-from-secret",
    "GATEWAY_MODELS": {"m": {"model": "openai/x", "api_key_env": "PROVIDER_KEY"}},
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    parameters.clear_caches()
    with mock_aws():
        yield
    parameters.clear_caches()


def test_ssm_parameter_supplies_keys_and_overrides_the_environment(aws: None) -> None:
    boto3.client("ssm").put_parameter(
        Name="/gw/config", Value=json.dumps(CONFIG), Type="SecureString"
    )

    env = load_environment({"GATEWAY_CONFIG_PARAMETER": "/gw/config", "PROVIDER_KEY": "old"})
    settings = Settings.from_env(env)

    assert env["PROVIDER_KEY"] == "sk-provider-from-secret"
    assert settings.models["m"].api_key is not None
    assert settings.models["m"].api_key.reveal() == "sk-provider-from-secret"
    assert [t.tenant_id for t in settings.tenants] == ["acme"]


def test_secret_supplies_configuration(aws: None) -> None:
    boto3.client("secretsmanager").create_secret(Name="gw", SecretString=json.dumps(CONFIG))

    env = load_environment({"GATEWAY_CONFIG_SECRET": "gw"})

    assert json.loads(env["GATEWAY_API_KEYS"]) == {"acme": ["sk-from-ssm"]}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GATEWAY_CONFIG_PARAMETER": "/missing"}, "could not be read"),
        ({"GATEWAY_CONFIG_PARAMETER": "/a", "GATEWAY_CONFIG_SECRET": "b"}, "not both"),
        ({"GATEWAY_CONFIG_PARAMETER": "/list"}, "JSON object"),
    ],
)
def test_unreadable_configuration_stops_the_start_without_showing_values(
    aws: None, env: dict[str, str], message: str
) -> None:
    boto3.client("ssm").put_parameter(
        Name="/list", Value='["sk-secret-in-list"]', Type="SecureString"
    )

    with pytest.raises(ConfigurationError, match=message) as raised:
        load_environment(env)

    assert "sk-secret-in-list" not in str(raised.value)


def test_without_a_source_nothing_is_imported_or_read() -> None:
    assert load_environment({"A": "1"}) == {"A": "1"}
