"""Nothing but the configured provider is contacted at run time, on every LiteLLM route kind.

GIVEN a process of its own with an audit hook recording every socket connection and
every host name looked up, WHEN the gateway's LiteLLM provider streams one completion
on an OpenAI, an Anthropic (with an `anthropic-beta` header, which makes LiteLLM 1.110
fetch its beta-header table from GitHub unless told not to) and a Bedrock route, each
against a local fake of that provider, THEN the only address connected to is the
fake's, and no name is looked up but its own. No network is needed to see it fail: the
lookup of GitHub's host is recorded whether or not it could succeed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import asyncio, json, os, sys, threading
from http.server import ThreadingHTTPServer

contacted = {"connect": [], "lookup": []}

def audit(event, args):
    if event == "socket.connect" and isinstance(args[1], tuple):
        contacted["connect"].append(list(args[1][:2]))
    elif event == "socket.getaddrinfo":
        contacted["lookup"].append(str(args[0]))

sys.addaudithook(audit)

from tests.sam import litellm_smoke  # the fake OpenAI, Anthropic and Bedrock endpoints
os.environ.pop("LITELLM_LOCAL_MODEL_COST_MAP")  # the gateway's own settings only

from gateway.config import ModelRoute, Secret
from gateway.providers.base import UpstreamRequest
from gateway.providers.litellm_provider import LiteLLMProvider
from gateway.redaction import Redactor

server = ThreadingHTTPServer(("127.0.0.1", 0), litellm_smoke._Upstream)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{server.server_address[1]}"
routes = [
    (ModelRoute("o", "openai/gpt-4o-mini", "litellm", base + "/v1", Secret("sk-fake")), {}),
    (
        ModelRoute("a", "anthropic/claude-3-5-haiku-20241022", "litellm", base, Secret("sk-a")),
        {"anthropic-beta": "prompt-caching-2024-07-31"},
    ),
    (ModelRoute("b", "bedrock/converse/anthropic.claude-3-haiku-20240307-v1", "litellm", base), {}),
]

async def main():
    texts = {}
    for route, headers in routes:
        params = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}
        request = UpstreamRequest(route, params, {}, 30.0, headers)
        stream = await LiteLLMProvider(Redactor(())).open(request)
        text = ""
        async for chunk in stream:
            for choice in chunk["choices"]:
                text += choice["delta"].get("content") or ""
        await stream.aclose()
        texts[route.model.split("/")[0]] = text
    return texts

texts = asyncio.run(main())
print(json.dumps({"texts": texts, "port": server.server_address[1], **contacted}))
"""


def test_litellm_routes_contact_only_their_provider() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "functions"), str(ROOT)])
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["texts"] == {kind: f"hello {kind}" for kind in ("openai", "anthropic", "bedrock")}
    assert set(report["lookup"]) <= {"127.0.0.1"}, report["lookup"]
    assert {tuple(address) for address in report["connect"]} == {("127.0.0.1", report["port"])}


MESSAGES_SCRIPT = """
import asyncio, json, os, sys

contacted = {"connect": [], "lookup": []}

def audit(event, args):
    if event == "socket.connect" and isinstance(args[1], tuple):
        contacted["connect"].append(list(args[1][:2]))
    elif event == "socket.getaddrinfo":
        contacted["lookup"].append(str(args[0]))

sys.addaudithook(audit)
os.environ.update(AWS_ACCESS_KEY_ID="AKIDSTANDIN", AWS_SECRET_ACCESS_KEY="x")
os.environ["AWS_REGION_NAME"] = "us-east-1"
from tests.support.anthropic_standin import AnthropicStandIn
from tests.support.servers import serve_app
from gateway.config import ModelRoute
from gateway.providers.base import NativeUpstreamRequest
from gateway.providers.litellm_messages import LiteLLMMessagesProvider
from gateway.redaction import Redactor

stand_in = AnthropicStandIn("unused")

async def main(base):
    route = ModelRoute("b", "bedrock/invoke/us.anthropic.claude-sonnet-4-5-v1:0", "litellm", base)
    provider = LiteLLMMessagesProvider(Redactor(()))
    provider.prepare()
    body = {"max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"anthropic-beta": "interleaved-thinking-2025-05-14"}
    answer = json.loads(await provider.answer(NativeUpstreamRequest(route, body, headers, 30.0)))
    events = await provider.stream(NativeUpstreamRequest(route, body, headers, 30.0))
    streamed = [event async for event in events]
    await events.aclose()
    return answer["content"][-1]["text"], streamed[-1]

with serve_app(stand_in.app) as base:
    text, last = asyncio.run(main(base))
    port = int(base.rsplit(":", 1)[1])
print(json.dumps({"text": text, "last": last.decode(), "port": port, **contacted}))
"""


def test_claude_on_bedrock_by_litellms_messages_interface_contacts_only_its_provider() -> None:
    """The same for LiteLLM's native Messages interface (the Messages door's path to
    Claude on Bedrock), streamed and not, with an `anthropic-beta` header (the stand-in
    for Bedrock runs in the process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_", "AWS_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "functions"), str(ROOT)])
    run = subprocess.run(
        [sys.executable, "-c", MESSAGES_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["text"] == "Hello."
    assert report["last"].startswith("event: message_stop")
    assert set(report["lookup"]) <= {"127.0.0.1"}, report["lookup"]
    assert {tuple(address) for address in report["connect"]} == {("127.0.0.1", report["port"])}
