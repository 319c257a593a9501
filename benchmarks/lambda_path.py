"""The Lambda path: the gateway behind the streaming runtime layer's `bootstrap`.

Driven by the tests' Runtime API emulator (`tests/lambda/runtime_api_emulator.py`), used
as a black box: queue a Function URL event, read the streamed `/response` it recorded.
"""

from __future__ import annotations

import copy
import importlib
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BOOTSTRAP = ROOT / "layers" / "streaming-runtime" / "bootstrap"
NEXT = "GET /2018-06-01/runtime/invocation/next"
DELIMITER = b"\x00" * 8


@dataclass(frozen=True)
class LambdaFigures:
    init_ms: float
    """From spawning `bootstrap` to its first `GET /next` (the handler module imported)."""
    first_invocation_ms: float
    """From queueing the first event to the end of its streamed response."""
    per_chunk_cpu_us: float
    """The runtime process's CPU per chunk of a long stream (all threads)."""


def _emulator_class() -> Any:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    # `lambda` is a keyword: the package can only be imported by name.
    return importlib.import_module("tests.lambda.runtime_api_emulator").RuntimeApiEmulator


def chat_event(route: str, chunks: int, key: str) -> dict[str, Any]:
    """`events/function-url.json` carrying a streamed chat-completion request."""
    event: dict[str, Any] = json.loads((ROOT / "events" / "function-url.json").read_text())
    event = copy.deepcopy(event)
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/v1/chat/completions"
    event["rawQueryString"] = ""
    event["headers"]["authorization"] = f"Bearer {key}"
    event["headers"].pop("content-length", None)
    event["body"] = json.dumps(
        {
            "model": route,
            "stream": True,
            "max_tokens": chunks,
            "messages": [{"role": "user", "content": "benchmark"}],
        }
    )
    event["isBase64Encoded"] = False
    return event


def _runtime_env(emulator: Any, gateway_env: dict[str, str]) -> dict[str, str]:
    return {
        **gateway_env,
        "AWS_LAMBDA_RUNTIME_API": emulator.address,
        "LAMBDA_TASK_ROOT": str(ROOT / "functions"),
        "_HANDLER": "gateway.app.handler",
        "AWS_LAMBDA_FUNCTION_NAME": "gateway",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/gateway",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2024/11/26/[$LATEST]0123456789abcdef",
    }


def _streamed_body(result: Any, chunks: int) -> None:
    """Checks that the response was streamed and complete."""
    _, _, body = result.body.partition(DELIMITER)
    if (
        not result.streamed
        or not body.endswith(b"data: [DONE]\n\n")
        or body.count(b"\n\n") <= chunks
    ):
        raise RuntimeError(f"Lambda path: incomplete response ({result.kind}, {body[-80:]!r})")


def _wait_for_next(emulator: Any, process: subprocess.Popen[bytes], deadline: float) -> None:
    while NEXT not in emulator.journal:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("Lambda path: the runtime did not ask for an event")
        time.sleep(0.0005)


def measure_lambda(
    gateway_env: dict[str, str],
    key: str,
    python: str,
    cpu_seconds: Any,
    cold_runs: int,
    stream_chunks: int,
    stream_runs: int,
) -> LambdaFigures:
    """`cold_runs` fresh runtimes (init, first invocation); per-chunk CPU on the last."""
    emulator_class = _emulator_class()
    inits, firsts, per_chunk = [], [], []
    for run in range(cold_runs):
        emulator = emulator_class().start()
        started = time.monotonic()
        process = subprocess.Popen(
            [str(BOOTSTRAP), python],
            env=_runtime_env(emulator, gateway_env),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_next(emulator, process, started + 60)
            inits.append((time.monotonic() - started) * 1e3)
            queued = time.monotonic()
            _streamed_body(emulator.invoke(chat_event("direct", 5, key), timeout=60), 5)
            firsts.append((time.monotonic() - queued) * 1e3)
            if run == cold_runs - 1:
                event = chat_event("direct", stream_chunks, key)
                emulator.invoke(event, timeout=60)  # warm up
                for _ in range(stream_runs):
                    cpu = cpu_seconds(process.pid)
                    _streamed_body(emulator.invoke(event, timeout=60), stream_chunks)
                    per_chunk.append((cpu_seconds(process.pid) - cpu) / stream_chunks * 1e6)
        finally:
            process.terminate()
            process.wait(10)
            emulator.stop()
    return LambdaFigures(
        statistics.median(inits), statistics.median(firsts), statistics.median(per_chunk)
    )
