"""DynamoDB emulated by moto's server on loopback, for gateways in this or other processes."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import boto3
from moto.server import (
    DomainDispatcherApplication,
    MotoRequestHandler,  # type: ignore[attr-defined]
    ThreadedMotoServer,
    create_backend_app,
)
from werkzeug.serving import make_server

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


class SerialMotoServer(ThreadedMotoServer):
    """Moto's server answering one request at a time. Moto applies concurrent conditional
    updates of one item without DynamoDB's per-item atomicity (two may both pass their
    condition); one at a time, each is atomic, as DynamoDB's are."""

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def serial(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            with lock:
                return list(app(environ, start_response))

        self._server = make_server(
            self._ip_address, self._port, serial, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


@contextlib.contextmanager
def dynamodb_server(serial: bool = False) -> Iterator[str]:
    """Yields the emulator's endpoint URL while it runs; `serial`: one request at a time
    (`SerialMotoServer`)."""
    server = (SerialMotoServer if serial else ThreadedMotoServer)(
        ip_address="127.0.0.1", port=0, verbose=False
    )
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _client(endpoint: str | None) -> Any:
    """A DynamoDB client of moto's (`endpoint` None: moto's in-process `mock_aws`)."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def create_cache_table(endpoint: str | None, name: str) -> None:
    """The response cache's table, as template.yaml defines it (`endpoint` None: moto's
    in-process `mock_aws`)."""
    table = load_template()["Resources"]["ResponseCacheTable"]["Properties"]
    client = _client(endpoint)
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


def create_usage_table(endpoint: str | None, name: str) -> None:
    """The usage table, as template.yaml defines it."""
    table = load_template()["Resources"]["UsageTable"]["Properties"]
    client = _client(endpoint)
    client.create_table(
        TableName=name,
        AttributeDefinitions=table["AttributeDefinitions"],
        KeySchema=table["KeySchema"],
        BillingMode=table["BillingMode"],
    )
