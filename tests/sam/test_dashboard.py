"""The stack's CloudWatch dashboard: valid, and about this stack's own figures.

GIVEN template.yaml expanded by the real SAM transform and resolved as CloudFormation
would, THEN the dashboard body is a JSON document whose metric widgets read the
namespace and service the function writes its EMF records under, whose log widget
queries the function's own log group by tenant hash (spend, tokens, errors), and the
stack's outputs give its console address.
"""

from __future__ import annotations

import json

import pytest

from tests.sam.stack import SAM_PYTHON, Stack, expand

pytestmark = pytest.mark.skipif(
    not SAM_PYTHON.exists(), reason="needs .venv-sam (scripts/setup --sam)"
)


@pytest.fixture(scope="module")
def stack() -> Stack:
    return Stack(expand([{}])[0], {})


def test_the_dashboard_reads_what_the_function_writes(stack: Stack) -> None:
    _, dashboard = stack.only("AWS::CloudWatch::Dashboard")
    body = json.loads(dashboard["DashboardBody"])
    environment = stack.resources["GatewayFunction"]["Properties"]["Environment"]["Variables"]
    namespace = environment["POWERTOOLS_METRICS_NAMESPACE"]
    service = environment["POWERTOOLS_SERVICE_NAME"]
    metrics = [w for w in body["widgets"] if w["type"] == "metric"]
    named = {
        line[1]
        for widget in metrics
        for line in widget["properties"]["metrics"]
        if isinstance(line[0], str) and line[0] in (namespace, ".")
    }
    billed = {"InputTokens", "CacheReadTokens", "CacheWriteTokens", "OutputTokens"}
    assert {"Requests", "TimeToFirstToken", "CacheHits", "SpendUSD"} | billed <= named
    for widget in metrics:
        first = widget["properties"]["metrics"][0]
        if isinstance(first[0], str):
            assert first[:4] == [namespace, first[1], "service", service]
    (logs,) = [w for w in body["widgets"] if w["type"] == "log"]
    query = logs["properties"]["query"]
    assert query.startswith("SOURCE '{GatewayLogGroup}'")  # Ref of a log group: its name
    for field in ("by tenant_id_hash", "sum(cost_usd)", "sum(output_tokens)"):
        assert field in query


def test_the_outputs_give_the_dashboards_address(stack: Stack) -> None:
    outputs = stack.template["Outputs"]
    assert "#dashboards/dashboard/" in json.dumps(outputs["DashboardUrl"]["Value"])
