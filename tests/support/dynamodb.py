"""DynamoDB emulated by moto's server on loopback, for gateways in this or other processes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import boto3
from moto.server import ThreadedMotoServer

from tests.support.template import load_template

REGION = "us-east-1"


def aws_env(endpoint: str) -> dict[str, str]:
    """What points boto3, in any process, at the emulator (and never at AWS)."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


@contextlib.contextmanager
def dynamodb_server() -> Iterator[str]:
    """Yields the emulator's endpoint URL while it runs."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def create_cache_table(endpoint: str | None, name: str) -> None:
    """The response cache's table, as template.yaml defines it (`endpoint` None: moto's
    in-process `mock_aws`)."""
    table = load_template()["Resources"]["ResponseCacheTable"]["Properties"]
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_table(
        TableName=name,
        AttributeDefinitions=table["AttributeDefinitions"],
        KeySchema=table["KeySchema"],
        BillingMode=table["BillingMode"],
        SSESpecification={"Enabled": table["SSESpecification"]["SSEEnabled"]},
    )
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={
            "Enabled": table["TimeToLiveSpecification"]["Enabled"],
            "AttributeName": table["TimeToLiveSpecification"]["AttributeName"],
        },
    )
