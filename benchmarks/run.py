"""Benchmark: the gateway's direct and LiteLLM paths against a raw httpx baseline.

Starts `fast_upstream.py` and the gateway (uvicorn) in their own processes, measures
from this process with plain httpx line reading, and prints one table with the performance
goals. Timings are informational: the exit status is non-zero only when the benchmark
itself could not run (a process did not start, a stream came back incomplete).

    .venv/bin/python benchmarks/run.py           # full, a few minutes
    .venv/bin/python benchmarks/run.py --quick   # smoke run for CI, well under a minute
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from lambda_path import LambdaFigures, measure_lambda

if TYPE_CHECKING:
    from gateway.cache.service import CacheTicket
    from gateway.context import RequestContext

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
_VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PYTHON = str(_VENV_PYTHON if _VENV_PYTHON.exists() else Path(sys.executable))
GATEWAY_KEY = "sk-bench-tenant"
PROVIDER_KEY = "sk-bench-provider"
ROUTES = ("direct", "litellm")

# The performance goals; a failed goal is printed, never turned into an exit status.
COLD_START_MAX_RATIO = 0.10
WALL_MAX_RATIO = 1.4
CPU_MAX_RATIO = 1.5
PACED_MAX_RATIO = 2.0
TTFB_MAX_EXTRA_MS = 1.0
LITELLM_MAX_RATIO = 25.0
PEAK_RSS_MAX_MB = 120.0
LITELLM_PEAK_RSS_MAX_MB = 250.0


class BenchmarkError(RuntimeError):
    """The benchmark could not measure (not: a figure missed its goal)."""


@dataclass(frozen=True)
class Plan:
    stream_chunks: int
    """Chunks per stream for the per-chunk cost."""
    stream_runs: int
    paced_chunks: int
    """Chunks per stream when the upstream sends them 1 ms apart."""
    paced_runs: int
    ttfb_requests: int
    ttfb_chunks: int
    cold_runs: int
    concurrent_streams: int
    concurrent_chunks: int
    """Chunks per stream while measuring memory."""
    warm_up_cold_start: bool


FULL = Plan(2000, 9, 500, 5, 50, 5, 5, 50, 1000, True)
QUICK = Plan(2000, 3, 100, 1, 15, 5, 1, 50, 100, False)


@dataclass(frozen=True)
class Target:
    """Where a client sends its chat-completion request."""

    name: str
    url: str
    model: str
    headers: dict[str, str]
    last_line: str = "data: [DONE]"
    """How the line that ends a complete stream begins."""
    api: str = "chat"
    """The request's shape: "chat" (chat completions and Messages) or "responses"."""


@dataclass(frozen=True)
class StreamTiming:
    first_event: float
    """Seconds from sending the request to the first `data:` line."""
    total: float
    client_cpu: float
    server_cpu: float


@dataclass(frozen=True)
class Memory:
    idle_mb: float
    peak_mb: float


@dataclass(frozen=True)
class ColdStart:
    import_ms: float
    ready_ms: float
    """From spawning the process to the first response being complete."""
    cpu_ms: float
    """The process's CPU time, all of it (the interpreter's start included)."""


@dataclass(frozen=True)
class Results:
    per_chunk_wall_us: dict[str, float]
    per_chunk_cpu_us: dict[str, float]
    """The baseline's client CPU; the gateway process's CPU for the routes."""
    paced_cpu_us: dict[str, float]
    ttfb_ms: dict[str, float]
    memory: dict[str, Memory]
    cold: dict[str, ColdStart]
    lambda_path: LambdaFigures
    messages: NativeFigures
    responses: NativeFigures


@dataclass(frozen=True)
class NativeFigures:
    """A door passing its own protocol through (`messages_targets`, `responses_targets`)."""

    per_chunk_cpu_us: dict[str, float]
    paced_cpu_us: dict[str, float]
    ttfb_ms: dict[str, float]
    memory: dict[str, Memory]


# --- processes -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def paced(url: str) -> str:
    """The fast upstream sends events 1 ms apart under `/paced/`."""
    return url.replace("/v1", "/paced/v1", 1)


def gateway_env(upstream_url: str) -> dict[str, str]:
    """The process environment plus the gateway's configuration: each route (direct,
    LiteLLM) to the fast upstream, in a burst and paced."""
    direct = {"model": "openai/bench", "api_key_env": "BENCH_KEY"}
    litellm = {**direct, "provider": "litellm"}
    models = {
        "direct": {**direct, "api_base": upstream_url},
        "litellm": {**litellm, "api_base": upstream_url},
        "direct-paced": {**direct, "api_base": paced(upstream_url)},
        "litellm-paced": {**litellm, "api_base": paced(upstream_url)},
        # Anthropic routes: the Messages door passes through; the chat door uses LiteLLM.
        "claude": {
            "model": "anthropic/bench",
            "api_key_env": "BENCH_KEY",
            "api_base": upstream_url,
        },
        "claude-paced": {
            "model": "anthropic/bench",
            "api_key_env": "BENCH_KEY",
            "api_base": paced(upstream_url),
        },
        # OpenAI-compatible routes serving the Responses API: the Responses door passes through.
        "responses": {**direct, "api_base": upstream_url, "responses_api": True},
        "responses-paced": {**direct, "api_base": paced(upstream_url), "responses_api": True},
    }
    return {
        **os.environ,
        "GATEWAY_API_KEYS": json.dumps({"bench": [GATEWAY_KEY]}),
        "GATEWAY_MODELS": json.dumps(models),
        "BENCH_KEY": PROVIDER_KEY,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@contextmanager
def upstream_process() -> Iterator[tuple[str, int]]:
    """Yields the upstream's base URL and pid."""
    process = subprocess.Popen(
        [PYTHON, str(HERE / "fast_upstream.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.strip().isdigit():
            raise BenchmarkError("the fast upstream did not start")
        yield f"http://127.0.0.1:{int(line)}/v1", process.pid
    finally:
        _stop(process)


@contextmanager
def gateway_process(
    upstream_url: str, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """The gateway under uvicorn, as `scripts/serve` runs it; yields its URL and pid.

    Its request log and metrics go to /dev/null, but are written as in production.
    """
    port = free_port()
    command = [PYTHON, "-m", "uvicorn", "gateway.app:app", "--app-dir", "functions"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=gateway_env(upstream_url) | (extra_env or {}),
        stdout=subprocess.DEVNULL,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url, process.pid
    finally:
        _stop(process)


def _wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/health", timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise BenchmarkError("the gateway did not start") from None
            time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """CPU time of all threads of `pid`, from the scheduler (nanosecond resolution)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that just ended
    return total / 1e9


def memory_mb(pid: int, field: str) -> float:
    """`VmRSS` (now) or `VmHWM` (peak) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise BenchmarkError(f"no {field} in /proc/{pid}/status")


# --- one stream, as a client reads it ----------------------------------------------------


def targets(upstream_url: str, gateway_url: str, pace: bool = False) -> list[Target]:
    """The baseline (the upstream itself) and each route through the gateway."""
    json_type = {"content-type": "application/json"}
    auth = {**json_type, "authorization": f"Bearer {GATEWAY_KEY}"}
    gateway_chat = f"{gateway_url}/v1/chat/completions"
    suffix = "-paced" if pace else ""
    return [
        Target(
            "baseline",
            f"{paced(upstream_url) if pace else upstream_url}/chat/completions",
            "bench",
            json_type,
        ),
        Target("direct", gateway_chat, "direct" + suffix, auth),
        Target("litellm", gateway_chat, "litellm" + suffix, auth),
    ]


MESSAGE_STOP = 'data: {"type":"message_stop"}'


def messages_targets(upstream_url: str, gateway_url: str, pace: bool = False) -> list[Target]:
    """On an Anthropic route: the baseline reads the upstream's Messages stream itself;
    `direct` is the Messages door passing it through; `litellm` the chat door on the same
    route, through LiteLLM (how every Anthropic token went before the pass-through)."""
    json_type = {"content-type": "application/json"}
    upstream = f"{paced(upstream_url) if pace else upstream_url}/messages"
    model = "claude-paced" if pace else "claude"
    return [
        Target("baseline", upstream, "bench", json_type, MESSAGE_STOP),
        Target(
            "direct",
            f"{gateway_url}/v1/messages",
            model,
            {**json_type, "x-api-key": GATEWAY_KEY},
            MESSAGE_STOP,
        ),
        Target(
            "litellm",
            f"{gateway_url}/v1/chat/completions",
            model,
            {**json_type, "authorization": f"Bearer {GATEWAY_KEY}"},
        ),
    ]


RESPONSE_COMPLETED = 'data: {"type":"response.completed"'


def responses_targets(upstream_url: str, gateway_url: str, pace: bool = False) -> list[Target]:
    """On an OpenAI-compatible route with `responses_api`: the baseline reads the
    upstream's Responses stream itself; `direct` is the Responses door passing it through;
    `litellm` the Responses door on the plain LiteLLM route, translated to chat
    completions (how a route without the option answers it)."""
    suffix = "-paced" if pace else ""
    auth = {"content-type": "application/json", "authorization": f"Bearer {GATEWAY_KEY}"}
    gateway = f"{gateway_url}/v1/responses"
    upstream = f"{paced(upstream_url) if pace else upstream_url}/responses"
    return [
        Target("baseline", upstream, "bench", auth, RESPONSE_COMPLETED, "responses"),
        Target("direct", gateway, "responses" + suffix, auth, RESPONSE_COMPLETED, "responses"),
        Target("litellm", gateway, "litellm" + suffix, auth, RESPONSE_COMPLETED, "responses"),
    ]


def request_body(model: str, chunks: int, api: str = "chat") -> bytes:
    """`max_tokens` (`max_output_tokens` in a Responses request) tells the fast upstream
    how many chunks to stream."""
    body: dict[str, object] = {"model": model, "stream": True}
    if api == "responses":  # not stored: the translated door would write every answer
        body |= {"max_output_tokens": chunks, "input": "benchmark", "store": False}
    else:
        body |= {"max_tokens": chunks, "messages": [{"role": "user", "content": "benchmark"}]}
    return json.dumps(body).encode()


def _check_complete(target: Target, events: int, last: str, chunks: int) -> None:
    if not last.startswith(target.last_line) or events < chunks + 1:
        raise BenchmarkError(
            f"{target.name}: incomplete stream ({events} events, last {last[:80]!r})"
        )


def read_stream(client: httpx.Client, target: Target, chunks: int, server_pid: int) -> StreamTiming:
    """One streamed request read line by line, timed; checks that it ended with [DONE]."""
    body = request_body(target.model, chunks, target.api)
    first: float | None = None
    events, last = 0, ""
    server_cpu = cpu_seconds(server_pid)
    client_cpu = time.thread_time()
    started = time.perf_counter()
    with client.stream("POST", target.url, content=body, headers=target.headers) as response:
        if response.status_code != 200:
            raise BenchmarkError(f"{target.name}: HTTP {response.status_code}")
        for line in response.iter_lines():
            if line.startswith("data:"):
                if first is None:
                    first = time.perf_counter()
                events += 1
                last = line
    ended = time.perf_counter()
    client_cpu = time.thread_time() - client_cpu
    server_cpu = cpu_seconds(server_pid) - server_cpu
    _check_complete(target, events, last, chunks)
    assert first is not None
    return StreamTiming(first - started, ended - started, client_cpu, server_cpu)


async def read_stream_async(client: httpx.AsyncClient, target: Target, chunks: int) -> None:
    body = request_body(target.model, chunks, target.api)
    events, last = 0, ""
    async with client.stream("POST", target.url, content=body, headers=target.headers) as response:
        if response.status_code != 200:
            raise BenchmarkError(f"{target.name}: HTTP {response.status_code}")
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                events += 1
                last = line
    _check_complete(target, events, last, chunks)


def _http_client() -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(120.0), trust_env=False)


# --- the measurements ------------------------------------------------------------------


def _interleaved(
    client: httpx.Client,
    all_targets: list[Target],
    server_pid: Callable[[Target], int],
    runs: int,
    chunks: int,
) -> dict[str, list[StreamTiming]]:
    """`runs` rounds of one stream per target, side by side, after one warm-up each."""
    for target in all_targets:  # warm up: connections, lazy imports (LiteLLM: seconds)
        read_stream(client, target, chunks, server_pid(target))
    timings: dict[str, list[StreamTiming]] = {t.name: [] for t in all_targets}
    for _ in range(runs):
        for target in all_targets:
            timings[target.name].append(read_stream(client, target, chunks, server_pid(target)))
    return timings


def _cpu(timing: StreamTiming, target: Target) -> float:
    """The reader's CPU for the baseline; the gateway's CPU through the gateway."""
    return timing.client_cpu if target.name == "baseline" else timing.server_cpu


def _per_chunk_us(
    streams: dict[str, list[StreamTiming]], chunks: int, pick: Callable[[str, StreamTiming], float]
) -> dict[str, float]:
    return {
        name: statistics.median(pick(name, t) for t in ts) / chunks * 1e6
        for name, ts in streams.items()
    }


TargetsFor = Callable[[str, str, bool], list[Target]]


def measure_streams(
    upstream: tuple[str, int],
    gateway: tuple[str, int],
    plan: Plan,
    targets_for: TargetsFor = targets,
) -> tuple[dict[str, float], dict[str, float], dict[str, float], dict[str, float]]:
    """Per-chunk wall time and CPU of a burst, CPU of a paced stream (µs), median TTFB (ms)."""
    burst = targets_for(upstream[0], gateway[0], False)
    paced_targets = targets_for(upstream[0], gateway[0], True)
    by_name = {t.name: t for t in burst}

    def server_pid(target: Target) -> int:
        return upstream[1] if target.name == "baseline" else gateway[1]

    with _http_client() as client:
        streams = _interleaved(client, burst, server_pid, plan.stream_runs, plan.stream_chunks)
        paced_streams = _interleaved(
            client, paced_targets, server_pid, plan.paced_runs, plan.paced_chunks
        )
        firsts = _interleaved(client, burst, server_pid, plan.ttfb_requests, plan.ttfb_chunks)

    wall = _per_chunk_us(streams, plan.stream_chunks, lambda _, t: t.total)
    cpu = _per_chunk_us(streams, plan.stream_chunks, lambda n, t: _cpu(t, by_name[n]))
    paced_cpu = _per_chunk_us(paced_streams, plan.paced_chunks, lambda n, t: _cpu(t, by_name[n]))
    ttfb = {name: statistics.median(t.first_event for t in ts) * 1e3 for name, ts in firsts.items()}
    return wall, cpu, paced_cpu, ttfb


async def _concurrent(target: Target, streams: int, chunks: int) -> None:
    limits = httpx.Limits(max_connections=streams, max_keepalive_connections=streams)
    async with httpx.AsyncClient(limits=limits, timeout=120.0, trust_env=False) as client:
        await asyncio.gather(*(read_stream_async(client, target, chunks) for _ in range(streams)))


def measure_memory(
    upstream_url: str, route: str, plan: Plan, targets_for: TargetsFor = targets
) -> Memory:
    """Idle and peak RSS of a fresh gateway serving `plan.concurrent_streams` at once."""
    with gateway_process(upstream_url) as (url, pid):
        idle = memory_mb(pid, "VmRSS")
        target = next(t for t in targets_for(upstream_url, url, False) if t.name == route)
        asyncio.run(_concurrent(target, plan.concurrent_streams, plan.concurrent_chunks))
        return Memory(idle_mb=idle, peak_mb=memory_mb(pid, "VmHWM"))


# A Lambda cold start: a fresh interpreter imports the handler module (`gateway.app`,
# which builds the app and its Mangum handler), then the runtime hands the first event to
# the ASGI app in-process: no server, no socket and no HTTP client in between
# (`tests/support/asgi_call.py`). It prints CLOCK_MONOTONIC readings, which are comparable
# across processes, and leaves with `os._exit` so that interpreter teardown is not counted.
_COLD_GATEWAY = """
import asyncio, os, sys, time
sys.path.insert(0, "functions")
import gateway.app
imported = time.monotonic()
from tests.support.asgi_call import call

status, body = asyncio.run(call(gateway.app.app, "/v1/chat/completions", BODY, HEADERS))
if status != 200 or not body.endswith(b"data: [DONE]\\n\\n"):
    sys.exit(f"first request failed: HTTP {status}")
print("BENCH", imported, time.monotonic(), flush=True)
os._exit(0)
"""
_COLD_IMPORT_LITELLM = """
import os, time
import litellm
now = time.monotonic()
print("BENCH", now, now, flush=True)
os._exit(0)
"""
_COLD_BARE = """
import os, time
now = time.monotonic()
print("BENCH", now, now, flush=True)
os._exit(0)
"""


def _cold_gateway_script(route: str) -> str:
    headers = [(b"content-type", b"application/json")]
    headers.append((b"authorization", f"Bearer {GATEWAY_KEY}".encode()))
    prelude = f"BODY = {request_body(route, 5)!r}\nHEADERS = {headers!r}\n"
    return prelude + _COLD_GATEWAY


def _children_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1e3


def cold_start_once(script: str, env: dict[str, str]) -> ColdStart:
    cpu = _children_cpu_ms()
    started = time.monotonic()
    done = subprocess.run(
        [PYTHON, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    cpu = _children_cpu_ms() - cpu
    for line in done.stdout.splitlines():
        if line.startswith("BENCH "):
            imported, ready = (float(x) for x in line.split()[1:3])
            return ColdStart((imported - started) * 1e3, (ready - started) * 1e3, cpu)
    raise BenchmarkError(f"cold start failed: {done.stderr.strip()[-500:]}")


def measure_cold_starts(upstream_url: str, plan: Plan) -> dict[str, ColdStart]:
    env = gateway_env(upstream_url)
    scripts = {
        "pass": _COLD_BARE,
        "import litellm": _COLD_IMPORT_LITELLM,
        "direct": _cold_gateway_script("direct"),
        "litellm": _cold_gateway_script("litellm"),
    }
    if plan.warm_up_cold_start:  # bytecode and page caches, as on a warmed-up host
        for script in scripts.values():
            cold_start_once(script, env)
    runs: dict[str, list[ColdStart]] = {name: [] for name in scripts}
    for _ in range(plan.cold_runs):
        for name, script in scripts.items():
            runs[name].append(cold_start_once(script, env))
    return {
        name: ColdStart(
            statistics.median(r.import_ms for r in results),
            statistics.median(r.ready_ms for r in results),
            statistics.median(r.cpu_ms for r in results),
        )
        for name, results in runs.items()
    }


def run(plan: Plan, say: Callable[[str], None]) -> Results:
    with upstream_process() as upstream:
        say("per-chunk cost and time to first byte")
        with gateway_process(upstream[0]) as gateway:
            wall, cpu, paced_cpu, ttfb = measure_streams(upstream, gateway, plan)
        memory = {}
        for route in ROUTES:
            say(f"memory, {plan.concurrent_streams} concurrent streams, {route} route")
            memory[route] = measure_memory(upstream[0], route, plan)
        messages = measure_native(upstream, plan, "the Messages door", messages_targets, say)
        # Its LiteLLM route's memory is left out: 50 translated streams take 30 s or more.
        responses = measure_native(
            upstream, plan, "the Responses door", responses_targets, say, ("direct",)
        )
        say("cold starts")
        cold = measure_cold_starts(upstream[0], plan)
        say("the Lambda path: streaming runtime and Runtime API emulator")
        lambda_path = measure_lambda(
            gateway_env(upstream[0]),
            GATEWAY_KEY,
            PYTHON,
            cpu_seconds,
            plan.cold_runs,
            plan.stream_chunks,
            plan.stream_runs,
        )
    return Results(wall, cpu, paced_cpu, ttfb, memory, cold, lambda_path, messages, responses)


def measure_native(
    upstream: tuple[str, int],
    plan: Plan,
    door: str,
    targets_for: TargetsFor,
    say: Callable[[str], None],
    memory_routes: tuple[str, ...] = ROUTES,
) -> NativeFigures:
    """A door passing its protocol through: per chunk, first byte, memory per route."""
    say(f"{door}, passed through: per chunk, first byte")
    with gateway_process(upstream[0]) as gateway:
        _, cpu, paced_cpu, ttfb = measure_streams(upstream, gateway, plan, targets_for)
    memory = {}
    for route in memory_routes:
        say(f"memory, {plan.concurrent_streams} concurrent streams, {door}, {route}")
        memory[route] = measure_memory(upstream[0], route, plan, targets_for)
    return NativeFigures(cpu, paced_cpu, ttfb, memory)


# --- the response cache ----------------------------------------------------------------

CACHE_HIT_MAX_EXTRA_MS = 1.0
"""A hit's first byte: at most this much after the gateway's own overhead."""
CACHE_MISS_MAX_EXTRA_MS = 0.3
"""A miss's first byte: at most this much after a non-cached request's."""
CACHE_TABLE = "bench-cache"


@dataclass(frozen=True)
class CacheTimings:
    """Median time to first byte (ms) of one streamed request, each kind interleaved."""

    baseline: float
    """The upstream read directly."""
    plain: float
    """The gateway without a cache."""
    miss: float
    hit: float


@dataclass(frozen=True)
class CacheWork:
    """The cache's own work per request, timed in this process (us): what it adds before
    the first byte on a miss and on a hit, and the store's write before the last byte."""

    miss: float
    hit: float
    write: float


def first_byte_ms(client: httpx.Client, url: str, headers: dict[str, str], body: bytes) -> float:
    """Request sent to first `data:` line; reads the stream to its end."""
    first: float | None = None
    started = time.perf_counter()
    with client.stream("POST", url, content=body, headers=headers) as response:
        if response.status_code != 200:
            raise BenchmarkError(f"cache benchmark: HTTP {response.status_code}")
        for line in response.iter_lines():
            if first is None and line.startswith("data:"):
                first = time.perf_counter()
    if first is None:
        raise BenchmarkError("cache benchmark: a stream without events")
    return (first - started) * 1e3


def measure_cache(upstream_url: str, cache_env: dict[str, str], plan: Plan) -> CacheTimings:
    """One gateway with the cache on for the direct route and off for a copy of it
    (`cache_ttl_seconds: 0`), so both take the same process's code path. Misses ask a
    new question each time, hits repeat one already stored; the kinds take turns."""
    auth = {"content-type": "application/json", "authorization": f"Bearer {GATEWAY_KEY}"}
    models = json.loads(gateway_env(upstream_url)["GATEWAY_MODELS"])
    models["uncached"] = {**models["direct"], "cache_ttl_seconds": 0}
    env = {
        "GATEWAY_MODELS": json.dumps(models),
        "GATEWAY_CACHE_TTL_SECONDS": "3600",
        **cache_env,
    }
    asked = 0

    def body(model: str, question: str | None = None) -> bytes:
        nonlocal asked
        asked += 1
        content = question or f"benchmark question {asked} {time.time_ns()}"
        return json.dumps(
            {
                "model": model,
                "stream": True,
                "max_tokens": plan.ttfb_chunks,
                "messages": [{"role": "user", "content": content}],
            }
        ).encode()

    with gateway_process(upstream_url, env) as (gateway, _), _http_client() as client:
        chat = f"{gateway}/v1/chat/completions"
        repeated = body("direct", "the repeated benchmark question")
        kinds: dict[str, Callable[[], float]] = {
            "baseline": lambda: first_byte_ms(
                client, f"{upstream_url}/chat/completions", auth, body("bench")
            ),
            "plain": lambda: first_byte_ms(client, chat, auth, body("uncached")),
            "miss": lambda: first_byte_ms(client, chat, auth, body("direct")),
            "hit": lambda: first_byte_ms(client, chat, auth, repeated),
        }
        for _ in range(5):  # warm up connections; store the repeated question
            for measure in kinds.values():
                measure()
        timings: dict[str, list[float]] = {kind: [] for kind in kinds}
        for n in range(plan.ttfb_requests * 8):
            order = list(kinds)[n % 4 :] + list(kinds)[: n % 4]
            for kind in order:
                timings[kind].append(kinds[kind]())
    return CacheTimings(**{kind: statistics.median(ts) for kind, ts in timings.items()})


@contextmanager
def dynamodb_emulator() -> Iterator[dict[str, str]]:
    """moto's DynamoDB server in its own process, with the template's table; yields the
    environment that points a gateway at it."""
    sys.path.insert(0, str(ROOT))
    from tests.support.dynamodb import aws_env, create_cache_table

    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(endpoint + "/moto-api", process)
        create_cache_table(endpoint, CACHE_TABLE)
        yield aws_env(endpoint) | {"GATEWAY_CACHE_URL": f"dynamodb://{CACHE_TABLE}"}
    finally:
        _stop(process)


async def _cache_work(cache_url: str, rounds: int) -> CacheWork:
    """A 7-chunk answer through the cache's calls, as `gateway.completions` makes them."""
    sys.path.insert(0, str(ROOT / "functions"))
    from gateway.cache.service import ResponseCache
    from gateway.cache.streams import ReplayStream
    from gateway.config import Settings
    from gateway.context import RequestContext
    from gateway.doors.chat import CHAT_COMPLETIONS

    settings = Settings.from_env(
        {
            "GATEWAY_API_KEYS": json.dumps({"bench": [GATEWAY_KEY]}),
            "GATEWAY_CACHE_TTL_SECONDS": "3600",
            "GATEWAY_CACHE_URL": cache_url,
        }
    )
    cache = ResponseCache(settings, lambda operation, error: None)
    answer = [{"choices": [{"index": 0, "delta": {"content": f" word{i}"}}]} for i in range(5)]
    answer += [{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
    usage = {"input_tokens": 5, "cache_read_tokens": 0, "cache_write_tokens": 0, "output_tokens": 5}
    answer += [{"choices": [], "usage": usage}]

    def request(question: str) -> tuple[RequestContext, dict[str, object]]:
        """What the gateway has in hand before it asks the cache (not timed)."""
        chat = CHAT_COMPLETIONS.parse(
            {"model": "echo", "stream": True, "messages": [{"role": "user", "content": question}]}
        )
        context = RequestContext.create(
            settings,
            settings.tenants[0],
            settings.models["echo"],
            CHAT_COMPLETIONS.name,
            CHAT_COMPLETIONS.id_prefix,
            chat,
            {},
        )
        return context, chat.body

    def ticket(context: RequestContext, body: dict[str, object]) -> CacheTicket:
        found = cache.ticket(context.route, context.tenant, body, None)
        assert found is not None
        return found

    miss = hit = write = 0.0
    for n in range(rounds):
        context, body = request(f"question {n}")
        started = time.perf_counter()  # a miss: the key, a lookup, the recording wrapper
        missed = ticket(context, body)
        assert await missed.lookup() is None
        recording = missed.record(ReplayStream([dict(c) for c in answer]), context.route)
        recorded = time.perf_counter()
        async for _ in recording:  # the chunks recorded, the entry encoded and stored
            pass
        stored = time.perf_counter()
        found = await ticket(context, body).lookup()  # a hit: the key, a lookup, decoding
        assert found is not None
        ReplayStream(found.chunks)
        ended = time.perf_counter()
        miss, write, hit = (
            miss + recorded - started,
            write + stored - recorded,
            hit + ended - stored,
        )
    return CacheWork(miss / rounds * 1e6, hit / rounds * 1e6, write / rounds * 1e6)


def run_cache(
    plan: Plan, say: Callable[[str], None]
) -> tuple[dict[str, CacheTimings], dict[str, CacheWork]]:
    timings, work = {}, {}
    with upstream_process() as (upstream_url, _), tempfile.TemporaryDirectory() as tmp:
        say("response cache, embedded SQLite store")
        sqlite_url = f"sqlite://{tmp}/bench-cache.sqlite3"
        timings["embedded (SQLite)"] = measure_cache(
            upstream_url, {"GATEWAY_CACHE_URL": sqlite_url}, plan
        )
        work["embedded (SQLite)"] = asyncio.run(_cache_work(sqlite_url, 2000))
        say("response cache, DynamoDB (emulated by moto)")
        with dynamodb_emulator() as dynamodb_env:
            timings["DynamoDB, emulated [e]"] = measure_cache(upstream_url, dynamodb_env, plan)
    return timings, work


CACHE_HEADER = ["response cache", "upstream", "no cache", "miss", "hit", "goal", ""]


def cache_rows(timings: dict[str, CacheTimings], work: dict[str, CacheWork]) -> list[list[str]]:
    rows = []
    for store, t in timings.items():
        overhead = t.plain - t.baseline
        miss_extra, hit_extra = t.miss - t.plain, t.hit - overhead
        goals = store in work  # the goals are for the embedded store
        rows += [
            [
                f"{store}, first byte (ms)",
                f"{t.baseline:.2f}",
                f"{t.plain:.2f}",
                f"{t.miss:.2f}",
                f"{t.hit:.2f}",
                "",
                "",
            ],
            [
                "  miss - no cache (ms)",
                "",
                "",
                f"{miss_extra:+.2f}",
                "",
                f"<= +{CACHE_MISS_MAX_EXTRA_MS} ms" if goals else "info",
                _verdict(miss_extra <= CACHE_MISS_MAX_EXTRA_MS) if goals else "",
            ],
            [
                "  hit - gateway overhead (ms) [f]",
                "",
                f"{overhead:.2f}",
                "",
                f"{hit_extra:+.2f}",
                f"<= +{CACHE_HIT_MAX_EXTRA_MS:.0f} ms" if goals else "info",
                _verdict(hit_extra <= CACHE_HIT_MAX_EXTRA_MS) if goals else "",
            ],
        ]
        if goals:
            w = work[store]
            rows.append(
                [
                    "  cache's own work (us) [g]",
                    "",
                    "",
                    f"{w.miss:.0f} + {w.write:.0f}",
                    f"{w.hit:.0f}",
                    "info",
                    "",
                ]
            )
    return rows


CACHE_NOTES = """\
[e] moto's emulation on loopback (a Python server): real DynamoDB reads take a few ms in
    region, so these figures show the cache's own code path, not DynamoDB's latency.
[f] gateway overhead = no cache - upstream: what the gateway adds before the upstream's
    first byte; a hit has no upstream, so it is compared with that overhead.
[g] timed in this process, 2,000 rounds of a 7-chunk answer: before the first byte (key,
    lookup, recording wrapper; key, lookup, decoding) + before the last byte (recording,
    compressing and writing the entry, on the store's writer thread)."""


# --- per-tenant limits -----------------------------------------------------------------

LIMITS_MAX_EXTRA_MS = 0.3
"""Admission on the embedded store, which the first byte waits for: at most this much."""
LIMITS_MAX_WRITE_UNITS = 3.0
"""DynamoDB write request units per limited request."""
USAGE_TABLE = "bench-usage"
DYNAMODB_USD_PER_MILLION_WRITES = 0.625
"""On demand, us-east-1."""


@dataclass(frozen=True)
class LimitsWork:
    """Per request, timed in this process: admission (before the first byte) and
    settlement with the ledger row (before the last byte), in us; the store's requests."""

    admit_us: float
    settle_us: float
    store_requests: float


async def _limits_work(usage_url: str, rounds: int) -> LimitsWork:
    """A tenant with every limit, each request admitted and settled as
    `gateway.completions` does it."""
    sys.path.insert(0, str(ROOT / "functions"))
    from gateway.config import Settings
    from gateway.doors.chat import CHAT_COMPLETIONS
    from gateway.doors.messages import MESSAGES
    from gateway.limits.admission import Limiter
    from gateway.storage.backends import open_counters

    limits = {
        "requests_per_minute": 10**9,
        "tokens_per_minute": 10**12,
        "concurrent_requests": 10**6,
        "budget": {"usd": 10**5, "period": "month"},
    }
    price = {"input": 3, "output": 15}
    settings = Settings.from_env(
        {
            "GATEWAY_API_KEYS": json.dumps({"bench": {"keys": [GATEWAY_KEY], "limits": limits}}),
            "GATEWAY_MODELS": json.dumps(
                {"echo": {"model": "echo", "price": price, "max_output_tokens": 1000}}
            ),
            "GATEWAY_USAGE_URL": usage_url,
        }
    )
    store = open_counters(usage_url)
    limiter = Limiter(settings, store, lambda operation, error: None)
    tenant, route = settings.tenants[0], settings.models["echo"]
    body = CHAT_COMPLETIONS.parse(
        {"model": "echo", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    ).body
    usage = {"input_tokens": 5, "cache_read_tokens": 0, "cache_write_tokens": 0, "output_tokens": 9}
    for _ in range(20):  # warm up: the store's file or connection, the price
        await (await limiter.admit(tenant, route, body, MESSAGES.limit_headers)).settle(
            route, usage, 9, False
        )
    requests_before = getattr(store, "requests", 0)
    admit = settle = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        reservation = await limiter.admit(tenant, route, body, MESSAGES.limit_headers)
        admitted = time.perf_counter()
        await reservation.settle(route, usage, 9, False)
        settle, admit = settle + time.perf_counter() - admitted, admit + admitted - started
    requests = (getattr(store, "requests", 0) - requests_before) / rounds
    return LimitsWork(admit / rounds * 1e6, settle / rounds * 1e6, requests)


def run_limits(plan: Plan, say: Callable[[str], None]) -> dict[str, LimitsWork]:
    rounds = 2000 if plan is FULL else 300
    work = {}
    with tempfile.TemporaryDirectory() as tmp:
        say("per-tenant limits, embedded SQLite store")
        work["embedded (SQLite)"] = asyncio.run(
            _limits_work(f"sqlite://{tmp}/bench-usage.sqlite3", rounds)
        )
    say("per-tenant limits, DynamoDB (emulated by moto)")
    with dynamodb_emulator() as dynamodb_env:
        from tests.support.dynamodb import create_usage_table

        create_usage_table(dynamodb_env["AWS_ENDPOINT_URL"], USAGE_TABLE)
        saved = dict(os.environ)
        os.environ.update(dynamodb_env)
        try:
            work["DynamoDB, emulated by moto [j]"] = asyncio.run(
                _limits_work(f"dynamodb://{USAGE_TABLE}", rounds // 4)
            )
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return work


LIMITS_HEADER = ["per-tenant limits", "admission", "settlement", "total", "goal", ""]


def limits_rows(work: dict[str, LimitsWork]) -> list[list[str]]:
    rows = []
    for store, w in work.items():
        admit_ms = w.admit_us / 1e3
        embedded = store.startswith("embedded")
        rows.append(
            [
                f"{store}, added per request (ms) [h]",
                f"{admit_ms:.3f}",
                f"{w.settle_us / 1e3:.3f}",
                f"{admit_ms + w.settle_us / 1e3:.3f}",
                f"first byte <= +{LIMITS_MAX_EXTRA_MS} ms" if embedded else "info",
                _verdict(admit_ms <= LIMITS_MAX_EXTRA_MS) if embedded else "",
            ]
        )
        if not embedded:
            cost = w.store_requests * DYNAMODB_USD_PER_MILLION_WRITES
            rows.append(
                [
                    f"  write units per request [i] (${cost:.2f} per million requests)",
                    "",
                    "",
                    f"{w.store_requests:.2f}",
                    f"<= {LIMITS_MAX_WRITE_UNITS:.0f}",
                    _verdict(w.store_requests <= LIMITS_MAX_WRITE_UNITS),
                ]
            )
    return rows


LIMITS_NOTES = """\
[h] timed in this process for a tenant with every limit: admission (one atomic update,
    before the upstream call, so before the first byte) and settlement (one atomic update
    and the ledger row, before the last byte). Admission is what the first byte waits for.
[i] every request to the store is an UpdateItem of an item under 1 KB: one write request
    unit each (the first admission of a new minute or period makes one more).
[j] moto on loopback, a Python server: real DynamoDB updates take a few ms in region;
    what is measured is the gateway's code path and the request count, not latency."""


# --- the table -------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _row(
    figure: str, baseline: str, direct: str, litellm: str, ratio: str, goal: str, result: str
) -> list[str]:
    return [figure, baseline, direct, litellm, ratio, goal, result]


def _cells(figures: dict[str, float], digits: int) -> tuple[str, str, str]:
    """The baseline, direct and litellm figures."""
    base, direct, litellm = (figures[name] for name in ("baseline", *ROUTES))
    return f"{base:.{digits}f}", f"{direct:.{digits}f}", f"{litellm:.{digits}f}"


def _ratios(figures: dict[str, float]) -> str:
    base = figures["baseline"]
    return f"{figures['direct'] / base:.2f}x | {figures['litellm'] / base:.1f}x"


def _goal(direct_max: float, litellm_max: float | None = None) -> str:
    return f"<= {direct_max:g}x" + (f" | {litellm_max:g}x" if litellm_max else "")


def stream_rows(r: Results, plan: Plan) -> list[list[str]]:
    """Per chunk and first byte: the baseline reads the upstream itself."""
    wall, cpu, paced_cpu = r.per_chunk_wall_us, r.per_chunk_cpu_us, r.paced_cpu_us
    ttfb = {name: ms - r.ttfb_ms["baseline"] for name, ms in r.ttfb_ms.items()}
    litellm_ratio = cpu["litellm"] / cpu["baseline"]
    return [
        _row(
            f"per chunk, wall, {plan.stream_chunks}-chunk burst (us)",
            *_cells(wall, 1),
            _ratios(wall),
            _goal(WALL_MAX_RATIO),
            _verdict(wall["direct"] / wall["baseline"] <= WALL_MAX_RATIO),
        ),
        _row(
            "per chunk, CPU, burst (us) [c]",
            *_cells(cpu, 1),
            _ratios(cpu),
            _goal(CPU_MAX_RATIO, LITELLM_MAX_RATIO),
            _verdict(
                cpu["direct"] / cpu["baseline"] <= CPU_MAX_RATIO
                and litellm_ratio <= LITELLM_MAX_RATIO
            ),
        ),
        _row(
            "per chunk, CPU, paced 1 ms apart (us) [c]",
            *_cells(paced_cpu, 1),
            _ratios(paced_cpu),
            _goal(PACED_MAX_RATIO),
            _verdict(paced_cpu["direct"] / paced_cpu["baseline"] <= PACED_MAX_RATIO),
        ),
        _row(
            "time to first byte, median (ms)",
            *_cells(r.ttfb_ms, 2),
            f"+{ttfb['direct']:.2f} | +{ttfb['litellm']:.2f} ms",
            f"<= +{TTFB_MAX_EXTRA_MS:g} ms",
            _verdict(ttfb["direct"] <= TTFB_MAX_EXTRA_MS),
        ),
    ]


def cold_rows(r: Results) -> list[list[str]]:
    """A fresh process to its first streamed answer, against importing LiteLLM."""
    litellm_import = r.cold["import litellm"]
    ratio = r.cold["direct"].ready_ms / litellm_import.ready_ms
    cpu_ratio = r.cold["direct"].cpu_ms / litellm_import.cpu_ms
    return [
        _row(
            "cold start, import + 1st request (ms)",
            f"{litellm_import.ready_ms:.0f} [a]",
            f"{r.cold['direct'].ready_ms:.0f}",
            f"{r.cold['litellm'].ready_ms:.0f}",
            f"{ratio:.3f} | {r.cold['litellm'].ready_ms / litellm_import.ready_ms:.2f}",
            f"<= {COLD_START_MAX_RATIO:.2f} [a]",
            _verdict(ratio <= COLD_START_MAX_RATIO),
        ),
        _row(
            "  the same, CPU (ms)",
            f"{litellm_import.cpu_ms:.0f} [a]",
            f"{r.cold['direct'].cpu_ms:.0f}",
            f"{r.cold['litellm'].cpu_ms:.0f}",
            f"{cpu_ratio:.3f} | {r.cold['litellm'].cpu_ms / litellm_import.cpu_ms:.2f}",
            f"<= {COLD_START_MAX_RATIO:.2f} [a]",
            _verdict(cpu_ratio <= COLD_START_MAX_RATIO),
        ),
        _row(
            "  of which import gateway.app (ms)",
            f"{r.cold['pass'].ready_ms:.0f} [b]",
            f"{r.cold['direct'].import_ms:.0f}",
            f"{r.cold['litellm'].import_ms:.0f}",
            "",
            "",
            "",
        ),
    ]


def memory_rows(r: Results, plan: Plan) -> list[list[str]]:
    direct, litellm = r.memory["direct"], r.memory["litellm"]
    return [
        _row(
            "gateway RSS, idle (MB)",
            "-",
            f"{direct.idle_mb:.1f}",
            f"{litellm.idle_mb:.1f}",
            "",
            "info",
            "",
        ),
        _row(
            f"gateway peak RSS, {plan.concurrent_streams} streams (MB)",
            "-",
            f"{direct.peak_mb:.1f}",
            f"{litellm.peak_mb:.1f}",
            "",
            f"<= {PEAK_RSS_MAX_MB:.0f} | {LITELLM_PEAK_RSS_MAX_MB:.0f} MB",
            _verdict(
                direct.peak_mb <= PEAK_RSS_MAX_MB and litellm.peak_mb <= LITELLM_PEAK_RSS_MAX_MB
            ),
        ),
    ]


def lambda_rows(r: Results) -> list[list[str]]:
    """The direct route behind the streaming runtime; the baseline is uvicorn [d]."""
    figures = r.lambda_path
    uvicorn_cpu = r.per_chunk_cpu_us["direct"]
    return [
        _row(
            "Lambda: init, start to 1st /next (ms)",
            f"{r.cold['pass'].ready_ms:.0f} [b]",
            f"{figures.init_ms:.0f}",
            "-",
            "",
            "info",
            "",
        ),
        _row(
            "Lambda: 1st streamed invocation (ms)",
            "-",
            f"{figures.first_invocation_ms:.0f}",
            "-",
            "",
            "info",
            "",
        ),
        _row(
            "Lambda: per chunk, CPU, burst (us) [d]",
            f"{uvicorn_cpu:.1f}",
            f"{figures.per_chunk_cpu_us:.1f}",
            "-",
            f"{figures.per_chunk_cpu_us / uvicorn_cpu:.2f}x",
            "info",
            "",
        ),
    ]


def native_rows(m: NativeFigures, label: str, note: str, plan: Plan) -> list[list[str]]:
    """A door passing its route's stream through ([e], [f]): the same goals as the direct
    chat path."""
    cpu, paced_cpu, memory = m.per_chunk_cpu_us, m.paced_cpu_us, m.memory
    ttfb = {name: ms - m.ttfb_ms["baseline"] for name, ms in m.ttfb_ms.items()}
    litellm = memory.get("litellm")
    return [
        _row(
            f"{label}: per chunk, CPU, burst (us) [{note}]",
            *_cells(cpu, 1),
            _ratios(cpu),
            _goal(CPU_MAX_RATIO),
            _verdict(cpu["direct"] / cpu["baseline"] <= CPU_MAX_RATIO),
        ),
        _row(
            f"{label}: per chunk, CPU, paced (us) [{note}]",
            *_cells(paced_cpu, 1),
            _ratios(paced_cpu),
            _goal(PACED_MAX_RATIO),
            _verdict(paced_cpu["direct"] / paced_cpu["baseline"] <= PACED_MAX_RATIO),
        ),
        _row(
            f"{label}: first byte, median (ms) [{note}]",
            *_cells(m.ttfb_ms, 2),
            f"+{ttfb['direct']:.2f} | +{ttfb['litellm']:.2f} ms",
            f"<= +{TTFB_MAX_EXTRA_MS:g} ms",
            _verdict(ttfb["direct"] <= TTFB_MAX_EXTRA_MS),
        ),
        _row(
            f"{label}: peak RSS, {plan.concurrent_streams} streams (MB) [{note}]",
            "-",
            f"{memory['direct'].peak_mb:.1f}",
            "-" if litellm is None else f"{litellm.peak_mb:.1f}",
            "",
            f"<= {PEAK_RSS_MAX_MB:.0f} MB",
            _verdict(memory["direct"].peak_mb <= PEAK_RSS_MAX_MB),
        ),
    ]


def table_rows(r: Results, plan: Plan) -> list[list[str]]:
    return [
        *cold_rows(r),
        *stream_rows(r, plan),
        *memory_rows(r, plan),
        *native_rows(r.messages, "Anthropic route", "e", plan),
        *native_rows(r.responses, "Responses route", "f", plan),
        *lambda_rows(r),
    ]


HEADER = ["figure", "baseline", "direct", "litellm", "ratio direct | litellm", "goal", ""]


def format_table(rows: list[list[str]], header: list[str] = HEADER) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(cells).rstrip()

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule, *map(line, rows), rule])


NOTES = """\
[a] cold-start baseline: a fresh `python -c "import litellm"` (the goal: direct <= 10% of it);
    the ratios are direct / import litellm and litellm route / import litellm.
[b] a fresh `python -c pass`: the interpreter's own share of every cold start.
[c] baseline: this client's CPU for httpx line reading; direct, litellm: the gateway
    process's CPU (all threads, from /proc/PID/task/*/schedstat).
[d] the gateway's CPU per chunk behind the streaming runtime (Runtime API emulator),
    against the same under uvicorn (the direct figure above).
[e] an anthropic/ route: baseline, this client reading the upstream's Messages stream;
    direct, the Messages door passing it through (no LiteLLM); litellm, the chat door on
    the same route through LiteLLM (the path every Anthropic token took before).
[f] an OpenAI-compatible route with "responses_api": true: baseline, this client reading
    the upstream's Responses stream; direct, the Responses door passing it through (no
    LiteLLM); litellm, the Responses door on the plain LiteLLM route, translated to chat
    completions (its peak RSS not measured: 50 translated streams take 30 s or more).
Goals are informational: this script never fails because of a timing."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Benchmark the gateway against raw httpx.")
    parser.add_argument("--quick", action="store_true", help="short smoke run (CI)")
    parser.add_argument(
        "--cache-only", action="store_true", help="only the response cache's figures"
    )
    parser.add_argument(
        "--limits-only", action="store_true", help="only the per-tenant limits' figures"
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    started = time.monotonic()

    def say(step: str) -> None:
        print(f"[{time.monotonic() - started:5.1f} s] {step}", file=sys.stderr, flush=True)

    try:
        only = args.cache_only or args.limits_only
        results = None if only else run(plan, say)
        cache = None if args.limits_only else run_cache(plan, say)
        limits = None if args.cache_only else run_limits(plan, say)
    except BenchmarkError as error:
        sys.exit(f"benchmark failed: {error}")
    mode = "quick" if args.quick else "full"
    took = time.monotonic() - started
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nGateway benchmark ({mode}, {os.cpu_count()} CPUs, load {load}, {took:.0f} s)")
    if results is not None:
        print(format_table(table_rows(results, plan)))
        print(NOTES)
    if cache is not None:
        print(format_table(cache_rows(*cache), CACHE_HEADER))
        print(CACHE_NOTES)
    if limits is not None:
        print(format_table(limits_rows(limits), LIMITS_HEADER))
        print(LIMITS_NOTES)
    if not only:
        # The semantic tier's rows (dev-set quality, lookup time, cold start, size): its
        # own script, so that this process never loads the embedding table.
        subprocess.run([sys.executable, str(HERE / "semantic.py")], check=False)


if __name__ == "__main__":
    main()
