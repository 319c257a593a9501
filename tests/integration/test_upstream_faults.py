"""Upstream faults below HTTP: DNS failure, TLS against a plain server, protocol garbage.

Each gives a clear 502 before the first byte, and the gateway serves the next request.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from gateway.config import Settings
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY, gateway_env
from tests.support.servers import serve

AUTH = {"authorization": f"Bearer {TENANT_KEY}"}


@pytest.fixture(scope="module")
def garbage_server() -> Iterator[int]:
    """Accepts connections and answers anything with bytes that are not HTTP."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"\x16\x03\x01 garbage \xff\xfe not http at all\r\n\r\n")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    listener.close()


@pytest.fixture(scope="module")
def url(upstream: FakeUpstream, garbage_server: int) -> Iterator[str]:
    env = gateway_env(upstream.url)
    routes = {
        "dns": "http://nonexistent-host.invalid/v1",
        "tls": f"https://127.0.0.1:{garbage_server}/v1",
        "garbage": f"http://127.0.0.1:{garbage_server}/v1",
    }
    models = {
        name: {"model": "openai/x", "api_base": base, "api_key_env": "FAKE_PROVIDER_KEY"}
        for name, base in routes.items()
    }
    models |= {
        f"{name}-litellm": {**route, "provider": "litellm"} for name, route in models.items()
    }
    models["ok"] = {"model": "openai/scripted", "api_base": upstream.url}
    env["GATEWAY_MODELS"] = json.dumps(models)
    with serve(Settings.from_env(env)) as served:
        yield served


@pytest.mark.parametrize(
    "model", ["dns", "tls", "garbage", "dns-litellm", "tls-litellm", "garbage-litellm"]
)
@pytest.mark.parametrize("stream", [True, False])
def test_faults_below_http_are_502_and_the_gateway_carries_on(
    url: str, model: str, stream: bool
) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "stream": stream}

    failed = httpx.post(
        f"{url}/v1/chat/completions", headers=AUTH, json={**body, "model": model}, timeout=20
    )
    after = httpx.post(
        f"{url}/v1/chat/completions", headers=AUTH, json={**body, "model": "ok"}, timeout=20
    )

    assert failed.status_code == 502, failed.text
    error = failed.json()["error"]
    assert error["code"] == "upstream_error"
    assert "nonexistent" not in error["message"]
    assert "127.0.0.1" not in error["message"]
    assert after.status_code == 200
