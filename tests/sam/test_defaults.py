"""The template's parameters give the gateway's limits no defaults of their own: where a
parameter sets a limit's variable, its default is the one `gateway.config` declares."""

from __future__ import annotations

from gateway.config import LIMITS
from tests.support.template import load_template


def test_template_defaults_are_the_gateways_defaults() -> None:
    template = load_template()
    variables = template["Resources"]["GatewayFunction"]["Properties"]["Environment"]["Variables"]
    parameters = template["Parameters"]
    checked = {}
    for limit in LIMITS:
        value = variables.get(limit.metadata["variable"])
        if isinstance(value, dict) and "Ref" in value:
            checked[limit.name] = (parameters[value["Ref"]]["Default"], limit.default)

    assert set(checked) == {"keepalive_seconds", "max_body_bytes", "upstream_timeout_seconds"}
    for name, (template_default, gateway_default) in checked.items():
        assert float(template_default) == float(gateway_default), name
