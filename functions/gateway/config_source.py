"""Optional configuration from SSM Parameter Store or Secrets Manager, read once at start.

`GATEWAY_CONFIG_PARAMETER` (an SSM parameter name) or `GATEWAY_CONFIG_SECRET` (a secret id)
names a JSON object of environment variables, for example
`{"GATEWAY_API_KEYS": {"acme": ["sha256:..."]}, "OPENAI_API_KEY": "sk-..."}`; its values
override the process environment. Object values are stored back as JSON text. Powertools
Parameters (and with it boto3) is imported only when one of the two is set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateway.errors import ConfigurationError

PARAMETER_VARIABLE = "GATEWAY_CONFIG_PARAMETER"
SECRET_VARIABLE = "GATEWAY_CONFIG_SECRET"  # noqa: S105 (a variable name)


def load_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment, with the named parameter's or secret's variables merged over it."""
    parameter, secret = environ.get(PARAMETER_VARIABLE), environ.get(SECRET_VARIABLE)
    if not parameter and not secret:
        return dict(environ)
    if parameter and secret:
        raise ConfigurationError(f"Set {PARAMETER_VARIABLE} or {SECRET_VARIABLE}, not both")

    from aws_lambda_powertools.utilities import parameters

    try:
        if parameter:
            raw: Any = parameters.get_parameter(parameter, decrypt=True, max_age=300)
        else:
            raw = parameters.get_secret(secret or "", max_age=300)
    except parameters.exceptions.GetParameterError:
        source = (
            f"{PARAMETER_VARIABLE} ({parameter})" if parameter else f"{SECRET_VARIABLE} ({secret})"
        )
        raise ConfigurationError(f"{source} could not be read") from None
    return {**environ, **_variables(raw)}


def _variables(raw: Any) -> dict[str, str]:
    try:
        values = json.loads(raw) if isinstance(raw, str | bytes) else None
    except json.JSONDecodeError:
        values = None
    if not isinstance(values, dict):
        raise ConfigurationError("The configuration parameter or secret must be a JSON object")
    return {
        str(name): value if isinstance(value, str) else json.dumps(value)
        for name, value in values.items()
    }
