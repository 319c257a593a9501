"""Import LiteLLM and stream one completion per wire format against a local fake server.

    python -S litellm_smoke.py REPORT.json   (with PYTHONPATH naming the dependency tree)

Run in a subprocess by test_pruning.py, on the unpruned and on the pruned dependency
tree. `-S` keeps the host's site-packages off sys.path, as /opt/python is on Lambda. It
writes every file opened and every module file loaded (an audit hook sees both) to
REPORT.json, so the test can check that none of them is a file prune.py removes.
Exercised: `import litellm`, the main provider modules, and streamed `acompletion` for
OpenAI (SSE), Anthropic (SSE) and Bedrock Converse (AWS event stream, SigV4-signed),
plus an upstream 401 through LiteLLM's exception mapping.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import struct
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

opened: set[str] = set()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and isinstance(args[0], str):
        opened.add(os.path.abspath(args[0]))


sys.addaudithook(_audit)

os.environ.update(
    LITELLM_LOCAL_MODEL_COST_MAP="True",
    AWS_ACCESS_KEY_ID="AKIAFAKEFAKEFAKEFAKE",
    AWS_SECRET_ACCESS_KEY="fake-secret-for-a-local-server",
    AWS_REGION="us-east-1",
    AWS_DEFAULT_REGION="us-east-1",
)
for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
    os.environ.pop(name, None)
os.environ["NO_PROXY"] = "127.0.0.1,localhost"

PROVIDER_MODULES = (
    "litellm.llms.openai.openai",
    "litellm.llms.openai.chat.gpt_transformation",
    "litellm.llms.anthropic.chat.handler",
    "litellm.llms.anthropic.chat.transformation",
    "litellm.llms.bedrock.chat.converse_transformation",
    "litellm.llms.bedrock.chat.invoke_handler",
    "litellm.llms.bedrock.base_aws_llm",
    "litellm.llms.custom_httpx.http_handler",
)


def _sse(events: list[tuple[str | None, dict[str, Any] | str]]) -> bytes:
    out = []
    for event, data in events:
        text = data if isinstance(data, str) else json.dumps(data)
        out.append((f"event: {event}\n" if event else "") + f"data: {text}\n\n")
    return "".join(out).encode()


def _openai_body() -> bytes:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    return _sse(
        [
            (None, {**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]}),
            (None, {**base, "choices": [{"index": 0, "delta": {"content": "hello "}}]}),
            (None, {**base, "choices": [{"index": 0, "delta": {"content": "openai"}}]}),
            (None, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
            (
                None,
                {
                    **base,
                    "choices": [],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
                },
            ),
            (None, "[DONE]"),
        ]
    )


def _anthropic_body() -> bytes:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
    return _sse(
        [
            ("message_start", {"type": "message_start", "message": message}),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": "hello "},
                },
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": "anthropic"},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn"},
                    "usage": {"output_tokens": 2},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
    )


def _event_stream_message(event_type: str, payload: dict[str, Any]) -> bytes:
    """One AWS event-stream frame (prelude, CRCs, string headers, JSON payload)."""
    headers = b""
    for name, value in (
        (":event-type", event_type),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ):
        headers += bytes([len(name)]) + name.encode() + b"\x07"
        headers += struct.pack(">H", len(value)) + value.encode()
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + body
    return message + struct.pack(">I", zlib.crc32(message))


def _bedrock_body() -> bytes:
    return b"".join(
        [
            _event_stream_message("messageStart", {"role": "assistant"}),
            _event_stream_message(
                "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "hello "}}
            ),
            _event_stream_message(
                "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "bedrock"}}
            ),
            _event_stream_message("contentBlockStop", {"contentBlockIndex": 0}),
            _event_stream_message("messageStop", {"stopReason": "end_turn"}),
            _event_stream_message(
                "metadata",
                {
                    "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
                    "metrics": {"latencyMs": 1},
                },
            ),
        ]
    )


class _Upstream(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path.startswith("/unauthorized"):
            self._send(401, "application/json", b'{"error": {"message": "bad key"}}')
        elif self.path.endswith("/chat/completions"):
            self._send(200, "text/event-stream", _openai_body())
        elif self.path.endswith("/v1/messages"):
            self._send(200, "text/event-stream", _anthropic_body())
        elif self.path.endswith("/converse-stream"):
            assert self.headers["authorization"].startswith("AWS4-HMAC-SHA256")
            self._send(200, "application/vnd.amazon.eventstream", _bedrock_body())
        else:
            self._send(404, "application/json", b"{}")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


async def _stream(litellm: Any, **kwargs: Any) -> str:
    # The same call shape as functions/gateway/providers/litellm_provider.py.
    stream = await litellm.acompletion(
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
        max_retries=0,
        num_retries=0,
        max_tokens=16,
        **kwargs,
    )
    text = []
    async for chunk in stream:
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
    return "".join(text)


async def _exercise(litellm: Any, base: str) -> dict[str, str]:
    results = {
        "openai": await _stream(
            litellm, model="openai/gpt-4o-mini", api_base=base + "/v1", api_key="sk-fake"
        ),
        "anthropic": await _stream(
            litellm,
            model="anthropic/claude-3-5-haiku-20241022",
            api_base=base,
            api_key="sk-ant-fake",
        ),
        "bedrock": await _stream(
            litellm, model="bedrock/converse/anthropic.claude-3-haiku-20240307-v1:0", api_base=base
        ),
    }
    try:
        await _stream(
            litellm, model="openai/gpt-4o-mini", api_base=base + "/unauthorized", api_key="sk-fake"
        )
    except litellm.AuthenticationError as exc:
        results["error"] = type(exc).__name__
    return results


def main(report_path: str) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        import litellm

        litellm.telemetry = False
        litellm.suppress_debug_info = True
        litellm.turn_off_message_logging = True
        for module in PROVIDER_MODULES:
            importlib.import_module(module)
        results = asyncio.run(_exercise(litellm, base))
    finally:
        server.shutdown()
    loaded = {
        os.path.abspath(module.__file__)
        for module in list(sys.modules.values())
        if getattr(module, "__file__", None)
    }
    with open(report_path, "w") as report:
        json.dump({"results": results, "files": sorted(opened | loaded)}, report)


if __name__ == "__main__":
    main(sys.argv[1])
