"""Expand template.yaml with the SAM transform, offline, once per parameter set.

    .venv-sam/bin/python tests/sam/expand_template.py < parameter-sets.json > templates.json

Runs under .venv-sam (aws-sam-translator's pins conflict with the app's). Reads a JSON
list of parameter sets (name -> string value, as CloudFormation hands them to the
transform) and prints a JSON list of the CloudFormation templates the transform makes.
Local CodeUri/ContentUri paths become S3 URIs first, as `sam package` does; the region
comes from AWS_DEFAULT_REGION, as the transform reads it.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


class NoManagedPolicies:
    """The template names no managed policy, so the transform needs no IAM lookup."""

    def load(self) -> dict[str, str]:
        return {}


def packaged(template: dict[str, Any]) -> dict[str, Any]:
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = "s3://artifacts/" + properties[key].strip("/")
    return template


def main() -> int:
    template = packaged(yaml_parse(TEMPLATE.read_text()))
    parameter_sets = json.load(sys.stdin)
    expanded = [
        transform(copy.deepcopy(template), dict(parameters), NoManagedPolicies())
        for parameters in parameter_sets
    ]
    json.dump(expanded, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
