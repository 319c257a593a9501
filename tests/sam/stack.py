"""The stack CloudFormation would deploy from template.yaml, for given parameters.

`expand()` runs the real SAM transform (aws-sam-translator, in .venv-sam) with the
parameter values, as CloudFormation hands them to it. `Stack` then does what
CloudFormation does with the result: parameters with their defaults, conditions,
`Fn::If`, `Fn::Sub`, `Ref`, `AWS::NoValue`; resources whose condition is false are
left out. What only exists once deployed (an ARN, a version number) stays a
placeholder naming its source, "{LogicalId}" or "{LogicalId.Attribute}", except the
configuration digest, which is computed by the inline code of ConfigDigestFunction
itself from ConfigDigest's resolved properties, as the custom resource would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import types
from functools import cached_property
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
EXPAND = Path(__file__).with_name("expand_template.py")
REGION = "eu-west-1"
PSEUDO = {
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "llm-gateway",
    "AWS::URLSuffix": "amazonaws.com",
}
NO_VALUE = object()


def expand(parameter_sets: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The CloudFormation template the SAM transform makes for each parameter set."""
    result = subprocess.run(
        [str(SAM_PYTHON), str(EXPAND)],
        input=json.dumps(parameter_sets),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "AWS_DEFAULT_REGION": REGION},
    )
    assert result.returncode == 0, result.stderr[-4000:]
    templates: list[dict[str, Any]] = json.loads(result.stdout)
    return templates


class Stack:
    """One expanded template with one parameter set, resolved as CloudFormation would."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str]) -> None:
        self.template = template
        declared = template["Parameters"]
        unknown = set(parameters) - set(declared)
        assert not unknown, f"not template parameters: {unknown}"
        self.values: dict[str, str] = {
            name: str(parameters.get(name, spec.get("Default", "")))
            for name, spec in declared.items()
        }

    @cached_property
    def conditions(self) -> dict[str, bool]:
        return {name: self._condition(name) for name in self.template.get("Conditions", {})}

    @cached_property
    def resources(self) -> dict[str, dict[str, Any]]:
        """Every deployed resource: its type and its resolved properties."""
        return {
            logical_id: {
                "Type": resource["Type"],
                "Properties": self.resolve(resource.get("Properties", {})),
            }
            for logical_id, resource in self.template["Resources"].items()
            if self.conditions.get(resource.get("Condition", ""), True)
        }

    def only(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        """The one resource of this type: its logical id and resolved properties."""
        found = [
            (key, resource["Properties"])
            for key, resource in self.resources.items()
            if resource["Type"] == resource_type
        ]
        assert len(found) == 1, f"{resource_type}: {[k for k, _ in found]}"
        return found[0]

    @cached_property
    def digest(self) -> str:
        code = self.template["Resources"]["ConfigDigestFunction"]["Properties"]["Code"]["ZipFile"]
        module = types.ModuleType("index")
        exec(compile(code, "index.py", "exec"), module.__dict__)  # noqa: S102 (our template)
        properties = self.resolve(self.template["Resources"]["ConfigDigest"]["Properties"])
        digest: str = module.digest(properties)
        return digest

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                return self._ref(argument)
            if function == "Fn::If":
                name, if_true, if_false = argument
                return self.resolve(if_true if self.conditions[name] else if_false)
            if function == "Fn::Sub":
                text, variables = argument if isinstance(argument, list) else (argument, {})
                return re.sub(r"\$\{([^}!]+)\}", lambda m: self._sub(m.group(1), variables), text)
            if function == "Fn::GetAtt":
                return self._get_att(*argument)
            if function == "Fn::Join":
                separator, items = argument
                return separator.join(str(item) for item in self.resolve(items))
        items = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in items.items() if item is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.values:
            return self.values[name]
        if name in PSEUDO:
            return PSEUDO[name]
        assert name in self.template["Resources"], f"Ref to nothing: {name}"
        return "{" + name + "}"

    def _sub(self, name: str, variables: dict[str, Any]) -> str:
        if name in variables:
            return str(self.resolve(variables[name]))
        if "." in name:
            return str(self._get_att(*name.split(".", 1)))
        return str(self._ref(name))

    def _get_att(self, logical_id: str, attribute: str) -> str:
        assert logical_id in self.template["Resources"], f"GetAtt of nothing: {logical_id}"
        if (logical_id, attribute) == ("ConfigDigest", "Digest"):
            return self.digest
        return "{" + logical_id + "." + attribute + "}"

    def _condition(self, name: str) -> bool:
        return bool(self._evaluate(self.template["Conditions"][name]))

    def _evaluate(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Fn::Equals":
                left, right = (self._evaluate(item) for item in argument)
                return str(left) == str(right)
            if function == "Fn::Not":
                return not self._evaluate(argument[0])
            if function == "Fn::And":
                return all(self._evaluate(item) for item in argument)
            if function == "Fn::Or":
                return any(self._evaluate(item) for item in argument)
            if function == "Condition":
                return self._condition(argument)
        return self.resolve(value)
