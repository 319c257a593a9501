"""What a cold start loads: a fresh interpreter imports the handler module and serves its
first request on the direct path to an http:// provider, as the Lambda runtime would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY, gateway_env

ROOT = Path(__file__).resolve().parents[2]

FIRST_REQUEST = """
import asyncio, json, ssl, sys
sys.path.insert(0, "functions")

def no_tls(*args, **kwargs):
    raise AssertionError("TLS set up")

ssl.create_default_context = no_tls
import gateway.app
at_start = set(sys.modules)
from tests.support.asgi_call import call

status, body = asyncio.run(call(gateway.app.app, "/v1/chat/completions", BODY, HEADERS))
print(json.dumps({
    "status": status,
    "done": body.endswith(b"data: [DONE]\\n\\n"),
    "at_start": sorted(at_start),
    "after": sorted(sys.modules),
}))
"""

ROUTE_SPECIFIC = ("aiohttp", "litellm", "openai", "httpx", "boto3", "botocore.session")
UNUSED = ("pydantic.v1",)
"""Imported by FastAPI when an endpoint declares a parameter or return type (see routes)."""
ASKED_FOR = ("gateway.openapi_document",)
"""Imported when a client asks for it (`/openapi.json`), never by a start or a completion."""
OTHER_DOORS = ("gateway.doors.embeddings",)
"""Imported with the first request through them."""


def test_a_direct_route_starts_without_tls_or_modules_other_routes_need(
    upstream: FakeUpstream,
) -> None:
    body = json.dumps(
        {"model": "direct", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    )
    headers = [(b"authorization", f"Bearer {TENANT_KEY}".encode())]
    script = f"BODY = {body.encode()!r}\nHEADERS = {headers!r}\n" + FIRST_REQUEST
    env = os.environ | gateway_env(upstream.url)

    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.splitlines()[-1])
    assert (report["status"], report["done"]) == (200, True)
    for module in ROUTE_SPECIFIC + UNUSED + ASKED_FOR + OTHER_DOORS:
        assert module not in report["at_start"], module
        assert module not in report["after"], module
