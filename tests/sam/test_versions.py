"""A deploy that changes parameters publishes a new version and moves `live`; one that
changes nothing publishes nothing.

GIVEN template.yaml expanded by the real SAM transform with two parameter sets, and
resolved as CloudFormation resolves it (tests/sam/stack.py), WHEN the published version
of each is compared, THEN it differs exactly when a value the function's configuration
uses differs. CloudFormation publishes a version when an AWS::Lambda::Version resource
is new (SAM changed its logical id) or replaced (its properties changed: every property
of AWS::Lambda::Version is create-only); "the published version" below is that pair.
"""

from __future__ import annotations

import json
import re
import threading
import types
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from tests.sam.stack import SAM_PYTHON, Stack, expand

pytestmark = pytest.mark.skipif(
    not SAM_PYTHON.exists(), reason="needs .venv-sam (scripts/setup --sam)"
)

# A value other than the default for every parameter the published version depends on.
CHANGED = {
    "GatewayModels": '{"gpt": {"model": "openai/gpt-4o-mini", "api_key_env": "OPENAI_API_KEY"}}',
    "ConfigParameterName": "/llm-gateway/config",
    "ConfigSecretName": "llm-gateway/config",
    "ConfigRevision": "7",
    "TenantApiKeys": '{"acme": ["sha256:00"]}',
    "UpstreamTimeoutSeconds": "30",
    "KeepaliveSeconds": "5",
    "MaxBodyBytes": "2048",
    "FunctionTimeout": "120",
    "FunctionMemorySize": "2048",
    "LogLevel": "DEBUG",
    "CacheTtlSeconds": "60",
    "CacheStore": "embedded",
}
# Parameters of the function, the alias, the URL, the API or the log group only: a new
# version (and SnapStart snapshot) for them would be waste.
NOT_IN_VERSION = {
    "FunctionUrlAuthType": "AWS_IAM",
    "ReservedConcurrentExecutions": "20",
    "ApiThrottlingRateLimit": "5",
    "ApiThrottlingBurstLimit": "10",
    "LogRetentionInDays": "7",
    "ConfigKmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d",
}
FUNCTION_LEVEL = {"ReservedConcurrentExecutions"}  # set on the function, not its versions


@pytest.fixture(scope="module")
def stacks() -> dict[str, Stack]:
    """The default stack twice (two separate transforms), then one per changed value."""
    cases = {"default": {}, "default again": {}}
    cases |= {name: {name: value} for name, value in (CHANGED | NOT_IN_VERSION).items()}
    templates = expand(list(cases.values()))
    return {
        name: Stack(template, parameters)
        for (name, parameters), template in zip(cases.items(), templates, strict=True)
    }


def published(stack: Stack) -> tuple[str, dict[str, Any]]:
    return stack.only("AWS::Lambda::Version")


def parameters_used(value: Any) -> set[str]:
    """Names a template value refers to with Ref or ${...}."""
    text = json.dumps(value)
    pairs = re.findall(r'\{"Ref": "([A-Za-z0-9:]+)"\}|\$\{([A-Za-z0-9:]+)\}', text)
    return {name for pair in pairs for name in pair if name}


def test_a_changed_description_replaces_the_version() -> None:
    # CloudFormation's own resource schema (as cfn-lint ships it): a create-only
    # property that changes makes CloudFormation replace the resource, and replacing
    # an AWS::Lambda::Version publishes a new version.
    schemas = next(SAM_PYTHON.parents[1].glob("lib/python3*/site-packages/cfnlint/data/schemas"))
    providers = json.loads((schemas / "providers" / "eu-west-1.json").read_text())
    schema_file = schemas / "resources" / f"{providers['AWS::Lambda::Version']}.json"
    schema = json.loads(schema_file.read_text())
    assert schema["typeName"] == "AWS::Lambda::Version"
    assert "/properties/Description" in schema["createOnlyProperties"]


def test_identical_parameters_publish_nothing_new(stacks: dict[str, Stack]) -> None:
    assert published(stacks["default"]) == published(stacks["default again"])


@pytest.mark.parametrize("name", sorted(CHANGED))
def test_a_changed_parameter_publishes_a_new_version(stacks: dict[str, Stack], name: str) -> None:
    # GIVEN the stack deployed with defaults, WHEN only `name` changes
    before, after = stacks["default"], stacks[name]
    # THEN the version resource is new or replaced, and the alias follows it
    assert published(after) != published(before)
    version_id, _ = published(after)
    _, alias = after.only("AWS::Lambda::Alias")
    assert alias["FunctionVersion"] == "{" + version_id + ".Version}"
    # AND $LATEST differs from the last version, so Lambda has something to publish
    # (PublishVersion returns the old version when code and configuration are unchanged)
    assert after.resources["GatewayFunction"] != before.resources["GatewayFunction"]


@pytest.mark.parametrize("name", sorted(NOT_IN_VERSION))
def test_a_parameter_outside_the_version_publishes_nothing(
    stacks: dict[str, Stack], name: str
) -> None:
    assert published(stacks[name]) == published(stacks["default"])


def test_every_parameter_of_the_function_reaches_the_version(stacks: dict[str, Stack]) -> None:
    # The function's configuration (Globals merged in by the transform) may only use
    # parameters whose change publishes a version, or ones set on the function itself.
    template = stacks["default"].template
    function = template["Resources"]["GatewayFunction"]["Properties"]
    used = parameters_used(function) & set(template["Parameters"])
    assert used - FUNCTION_LEVEL <= set(CHANGED), used - FUNCTION_LEVEL - set(CHANGED)
    digest_inputs = set(template["Resources"]["ConfigDigest"]["Properties"]) - {"ServiceToken"}
    assert digest_inputs == set(CHANGED)


def test_a_superseded_version_outlives_a_code_change(stacks: dict[str, Stack]) -> None:
    version_id, _ = published(stacks["default"])
    assert stacks["default"].template["Resources"][version_id]["DeletionPolicy"] == "Retain"


# The digest function, as CloudFormation calls it: an event, and a presigned URL to PUT
# the answer to (here a loopback server that records it).


class _Recorder(BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[dict[str, str], dict[str, Any]]]] = []

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.answers.append((dict(self.headers), json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def response_url() -> Iterator[str]:
    _Recorder.answers = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/presigned?X-Amz-Signature=abc"
    server.shutdown()
    server.server_close()


@pytest.fixture
def digest_function(stacks: dict[str, Stack]) -> types.ModuleType:
    code = stacks["default"].template["Resources"]["ConfigDigestFunction"]["Properties"]
    module = types.ModuleType("index")
    exec(compile(code["Code"]["ZipFile"], "index.py", "exec"), module.__dict__)  # noqa: S102
    return module


def _event(request_type: str, url: str, properties: dict[str, Any] | None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/llm-gateway/1",
        "RequestId": f"request-{request_type}",
        "LogicalResourceId": "ConfigDigest",
        "ResourceType": "Custom::ConfigDigest",
    }
    if properties is not None:
        event["ResourceProperties"] = {"ServiceToken": "arn:aws:lambda:...", **properties}
    if request_type != "Create":
        event["PhysicalResourceId"] = "config-digest"
    return event


def test_the_digest_function_answers_every_request(
    digest_function: types.ModuleType, response_url: str
) -> None:
    secret = "sk-tenant-key-0123456789"
    first = {"GatewayModels": "{}", "TenantApiKeys": secret}
    for request_type, properties in (
        ("Create", first),
        ("Update", {**first}),
        ("Update", {**first, "GatewayModels": '{"x": {}}'}),
        ("Delete", first),
        ("Update", None),  # malformed: FAILED, never silence (CloudFormation would wait)
    ):
        digest_function.handler(_event(request_type, response_url, properties), None)
    answers = [answer for _, answer in _Recorder.answers]
    assert [a["Status"] for a in answers] == ["SUCCESS"] * 4 + ["FAILED"]
    assert {a["PhysicalResourceId"] for a in answers} == {"config-digest"}
    assert [a["RequestId"] for a in answers[:2]] == ["request-Create", "request-Update"]
    digests = [a["Data"].get("Digest") for a in answers]
    assert digests[0] == digests[1] != digests[2]
    assert digests[3] is None
    # S3 presigned PUTs are signed without a content type; nothing echoes the secret
    assert all(headers.get("Content-Type") == "" for headers, _ in _Recorder.answers)
    assert secret not in json.dumps(answers)
