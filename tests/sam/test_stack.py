"""Every supported parameter combination deploys the same shape, with no side door.

GIVEN template.yaml expanded by the real SAM transform for each combination of the
parameters that change the stack's shape (auth type, configuration source, KMS key,
tenant keys, reserved concurrency), and resolved as CloudFormation would
(tests/sam/stack.py), THEN in each: the live alias carries the streaming Function URL
and the REST API's integration; its version is the SnapStart function with both
layers and the exec wrapper; the REST API asks for what the URL asks for (SigV4 with
AWS_IAM); nothing public exists with AWS_IAM; and cfn-lint finds nothing.
"""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.sam.stack import ROOT, SAM_PYTHON, Stack, expand

pytestmark = pytest.mark.skipif(
    not SAM_PYTHON.exists(), reason="needs .venv-sam (scripts/setup --sam)"
)

CFN_LINT = ROOT / ".venv-sam" / "bin" / "cfn-lint"
KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d"
SOURCES = ({}, {"ConfigParameterName": "/llm-gateway/config"}, {"ConfigSecretName": "gw/config"})


def _combinations() -> list[dict[str, str]]:
    combinations = []
    for auth, source, kms, keys, reserved in itertools.product(
        ("NONE", "AWS_IAM"), SOURCES, (False, True), (False, True), (False, True)
    ):
        if kms and not source:
            continue  # a key for a parameter or secret that is not there
        parameters = {"FunctionUrlAuthType": auth, **source}
        if kms:
            parameters["ConfigKmsKeyArn"] = KMS_KEY
        if keys:
            parameters["TenantApiKeys"] = '{"acme": ["sha256:00"]}'
        if reserved:
            parameters["ReservedConcurrentExecutions"] = "20"
        combinations.append(parameters)
    return combinations


COMBINATIONS = _combinations()


@pytest.fixture(scope="module")
def stacks() -> list[Stack]:
    templates = expand(COMBINATIONS)
    return [Stack(t, p) for t, p in zip(templates, COMBINATIONS, strict=True)]


def _label(stack: Stack) -> str:
    return json.dumps({k: v for k, v in stack.values.items() if k in COMBINATIONS[-1]})


def _methods(stack: Stack) -> dict[str, dict[str, Any]]:
    _, api = stack.only("AWS::ApiGateway::RestApi")
    return {
        f"{path} {verb}": method
        for path, verbs in api["Body"]["paths"].items()
        for verb, method in verbs.items()
    }


def test_every_combination_was_expanded(stacks: list[Stack]) -> None:
    assert len(stacks) == 40


def test_the_alias_carries_the_streaming_url(stacks: list[Stack]) -> None:
    for stack in stacks:
        _, url = stack.only("AWS::Lambda::Url")
        assert url["TargetFunctionArn"] == "{GatewayFunctionAliaslive}", _label(stack)
        assert url["InvokeMode"] == "RESPONSE_STREAM"
        assert url["AuthType"] == stack.values["FunctionUrlAuthType"]


def test_the_alias_carries_the_rest_integration(stacks: list[Stack]) -> None:
    for stack in stacks:
        methods = _methods(stack)
        assert set(methods) == {"/ x-amazon-apigateway-any-method"} | {
            "/{proxy+} x-amazon-apigateway-any-method"
        }
        for method in methods.values():
            integration = method["x-amazon-apigateway-integration"]
            assert integration["type"] == "aws_proxy"
            assert integration["uri"].endswith(
                "/functions/{GatewayFunctionAliaslive}/invocations"
            ), _label(stack)
        permissions = [
            p
            for p in stack.resources.values()
            if p["Type"] == "AWS::Lambda::Permission"
            and p["Properties"]["Principal"] == "apigateway.amazonaws.com"
        ]
        assert len(permissions) == 2
        assert {p["Properties"]["FunctionName"] for p in permissions} == {
            "{GatewayFunctionAliaslive}"
        }


def test_the_live_version_is_the_snapstart_function_with_both_layers(
    stacks: list[Stack],
) -> None:
    for stack in stacks:
        version_id, version = stack.only("AWS::Lambda::Version")
        _, alias = stack.only("AWS::Lambda::Alias")
        assert alias["FunctionVersion"] == "{" + version_id + ".Version}"
        assert version["FunctionName"] == "{GatewayFunction}"
        function = stack.resources["GatewayFunction"]["Properties"]
        assert function["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        layers = sorted(k for k, r in stack.resources.items() if r["Type"].endswith("LayerVersion"))
        assert [layer.strip("{}") for layer in function["Layers"]] == sorted(
            layers, key=lambda name: not name.startswith("StreamingRuntimeLayer")
        )
        assert function["Environment"]["Variables"]["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
        assert function["Runtime"] == "python3.13"
        assert function["Architectures"] == ["arm64"]


def test_the_rest_api_asks_for_what_the_url_asks_for(stacks: list[Stack]) -> None:
    for stack in stacks:
        _, api = stack.only("AWS::ApiGateway::RestApi")
        for name, method in _methods(stack).items():
            # API Gateway invokes through the function's resource policy, never with the
            # caller's credentials, and never takes x-api-key as a usage-plan key: the
            # header reaches the gateway, which reads the tenant key from it.
            assert "credentials" not in method["x-amazon-apigateway-integration"]
            if stack.values["FunctionUrlAuthType"] == "AWS_IAM":
                assert method.get("security") == [{"AWS_IAM": []}], name
            else:
                assert "security" not in method, (name, _label(stack))
        definitions = api["Body"].get("securityDefinitions", {})
        if stack.values["FunctionUrlAuthType"] == "AWS_IAM":
            assert definitions == {
                "AWS_IAM": {
                    "in": "header",
                    "type": "apiKey",
                    "name": "Authorization",
                    "x-amazon-apigateway-authtype": "awsSigv4",
                }
            }
        else:
            assert definitions == {}
        kinds = {r["Type"] for r in stack.resources.values()}
        assert not kinds & {"AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlan"}


def test_nothing_is_public_with_aws_iam(stacks: list[Stack]) -> None:
    for stack in stacks:
        public = [
            key
            for key, resource in stack.resources.items()
            if resource["Type"] == "AWS::Lambda::Permission"
            and resource["Properties"]["Principal"] == "*"
        ]
        if stack.values["FunctionUrlAuthType"] == "AWS_IAM":
            assert public == [], _label(stack)
        else:
            assert sorted(public) == ["GatewayUrlPublicInvokeFunction", "GatewayUrlPublicInvokeUrl"]


def test_concurrency_and_throttling(stacks: list[Stack]) -> None:
    for stack in stacks:
        function = stack.resources["GatewayFunction"]["Properties"]
        reserved = stack.values["ReservedConcurrentExecutions"]
        assert function.get("ReservedConcurrentExecutions", "") == reserved, _label(stack)
        _, stage = stack.only("AWS::ApiGateway::Stage")
        assert stage["MethodSettings"] == [
            {
                "HttpMethod": "*",
                "ResourcePath": "/*",
                "ThrottlingRateLimit": "50",
                "ThrottlingBurstLimit": "100",
            }
        ]


def test_cfn_lint_finds_nothing_in_any_expanded_template(
    stacks: list[Stack], tmp_path: Path
) -> None:
    paths = []
    for number, stack in enumerate(stacks):
        path = tmp_path / f"expanded-{number}.json"
        path.write_text(json.dumps(stack.template, indent=1))
        paths.append(str(path))
    result = subprocess.run(
        [str(CFN_LINT), "--", *paths], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert result.stdout == ""


def test_a_configuration_only_redeploy_keeps_the_version_it_replaces() -> None:
    # GIVEN the stack deployed, then deployed again with only a parameter's value changed
    changed = {"UpstreamTimeoutSeconds": "30"}
    before, after = (Stack(t, p) for t, p in zip(expand([{}, changed]), [{}, changed], strict=True))
    old_id, old = before.only("AWS::Lambda::Version")
    new_id, new = after.only("AWS::Lambda::Version")
    # THEN CloudFormation replaces the version resource (same logical id, a new
    # description: every property of AWS::Lambda::Version requires replacement) ...
    assert old_id == new_id
    assert old["Description"] != new["Description"]
    # ... and keeps the version it replaced, so `live` can be pointed back at it; a code
    # change makes a new logical id, and the old version is kept by its DeletionPolicy
    attributes = after.template["Resources"][new_id]
    assert (attributes.get("UpdateReplacePolicy"), attributes.get("DeletionPolicy")) == (
        "Retain",
        "Retain",
    )
