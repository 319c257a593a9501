"""The response cache in template.yaml: an encrypted on-demand table with a TTL that only
this function may read and write, one item at a time, wired to the gateway's settings.

(The integration tests create their emulated table from this same definition.)
"""

from __future__ import annotations

from typing import Any

from tests.support.template import load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]


def test_the_table_is_on_demand_encrypted_and_expires_items() -> None:
    table = RESOURCES["ResponseCacheTable"]
    properties = table["Properties"]

    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["Condition"] == "UseCacheTable"
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert properties["KeySchema"] == [{"AttributeName": "key", "KeyType": "HASH"}]
    assert properties["AttributeDefinitions"] == [{"AttributeName": "key", "AttributeType": "B"}]


def _role_statements() -> list[dict[str, Any]]:
    statements = []
    for policy in RESOURCES["GatewayFunctionRole"]["Properties"]["Policies"]:
        if "Fn::If" in policy:
            policy = policy["Fn::If"][1]
        statements += policy["PolicyDocument"]["Statement"]
    return statements


def _on_table(name: str) -> list[dict[str, Any]]:
    return [s for s in _role_statements() if s["Resource"] == {"Fn::GetAtt": [name, "Arn"]}]


def test_the_role_may_only_get_and_put_items_of_that_table() -> None:
    """And, beside it, only update and query the usage table (`test_limits_template`)."""
    on_table = _on_table("ResponseCacheTable")
    dynamodb = [
        s
        for s in _role_statements()
        if any(str(action).startswith("dynamodb:") for action in s["Action"])
    ]

    assert on_table + _on_table("UsageTable") == dynamodb
    assert [sorted(s["Action"]) for s in on_table] == [["dynamodb:GetItem", "dynamodb:PutItem"]]
    assert [sorted(s["Action"]) for s in _on_table("UsageTable")] == [
        ["dynamodb:Query", "dynamodb:UpdateItem"]
    ]
    assert all(s["Effect"] == "Allow" for s in dynamodb)


def test_the_function_gets_the_ttl_and_the_table_url() -> None:
    variables = RESOURCES["GatewayFunction"]["Properties"]["Environment"]["Variables"]

    assert variables["GATEWAY_CACHE_TTL_SECONDS"] == {"Ref": "CacheTtlSeconds"}
    assert variables["GATEWAY_CACHE_URL"] == {
        "Fn::If": [
            "UseCacheTable",
            {"Fn::Sub": "dynamodb://${ResponseCacheTable}"},
            {"Ref": "AWS::NoValue"},
        ]
    }


def test_caching_is_off_unless_the_deployer_turns_it_on() -> None:
    parameters = TEMPLATE["Parameters"]

    assert parameters["CacheTtlSeconds"]["Default"] == 0
    assert parameters["CacheStore"]["AllowedValues"] == ["dynamodb", "embedded"]
    assert TEMPLATE["Conditions"]["UseCacheTable"] == {
        "Fn::Equals": [{"Ref": "CacheStore"}, "dynamodb"]
    }
