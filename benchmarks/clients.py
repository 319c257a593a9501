"""Experiment: what reading an upstream's stream costs with each HTTP client, TLS included.

The direct provider's read loop (connect once, POST, split the body into SSE events) with
httpx (`aiter_raw`), aiohttp (`iter_any`) and the gateway's own `http1` client, over plain
HTTP and over TLS, on asyncio's own loop (as on Lambda) and on uvloop (as under uvicorn).
Prints each client's import time (a fresh interpreter that has asyncio already) and this
process's CPU per event for a 2,000-event burst and a paced stream (events 1 ms apart).

    .venv/bin/python benchmarks/clients.py
"""

from __future__ import annotations

import asyncio
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))
from gateway.providers.http1 import ConnectionPool
from gateway.providers.sse_reader import SSEDataReader

HERE = Path(__file__).resolve().parent
FUNCTIONS = HERE.parent / "functions"
IMPORTS = {"httpx": "httpx", "aiohttp": "aiohttp", "http1": "gateway.providers.http1"}
BURST, PACED = 2000, 200
RUNS = 7
BODY = b'{"model": "bench", "stream": true, "max_tokens": %d, "messages": []}'
HEADERS = {"content-type": "application/json", "accept-encoding": "identity"}

Reader = Callable[[str, int], Awaitable[int]]


async def count_events(pieces: AsyncIterator[bytes]) -> int:
    reader, events = SSEDataReader(pieces), 0
    while (data := await reader.next_data()) is not None and data != b"[DONE]":
        events += 1
    await reader.drain()
    return events


def httpx_reader(verify: ssl.SSLContext | bool) -> tuple[Reader, Callable[[], Awaitable[None]]]:
    client = httpx.AsyncClient(verify=verify, timeout=60, trust_env=False)

    async def read(url: str, chunks: int) -> int:
        request = client.build_request("POST", url, content=BODY % chunks, headers=HEADERS)
        response = await client.send(request, stream=True)
        try:
            return await count_events(response.aiter_raw())
        finally:
            await response.aclose()

    return read, client.aclose


def aiohttp_reader(verify: ssl.SSLContext | bool) -> tuple[Reader, Callable[[], Awaitable[None]]]:
    session = aiohttp.ClientSession(auto_decompress=False, trust_env=False)
    tls = verify if isinstance(verify, ssl.SSLContext) else True

    async def read(url: str, chunks: int) -> int:
        async with session.post(url, data=BODY % chunks, headers=HEADERS, ssl=tls) as response:
            return await count_events(response.content.iter_any())

    return read, session.close


def http1_reader(verify: ssl.SSLContext | bool) -> tuple[Reader, Callable[[], Awaitable[None]]]:
    pool = ConnectionPool(60, tls=verify if isinstance(verify, ssl.SSLContext) else None)

    async def read(url: str, chunks: int) -> int:
        response = await pool.post(url, BODY % chunks, HEADERS)
        try:
            return await count_events(response)
        finally:
            response.release()

    return read, pool.aclose


def import_ms(module: str) -> float:
    """Median wall time of importing `module` in a fresh interpreter that has asyncio."""
    script = (
        f"import asyncio, sys, time; sys.path.insert(0, {str(FUNCTIONS)!r}); "
        f"t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    )
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", script], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(RUNS)
    ]
    return statistics.median(runs) * 1e3


async def cpu_per_event(read: Reader, url: str, chunks: int) -> float:
    await read(url, chunks)  # connect, warm up
    costs = []
    for _ in range(RUNS):
        started = time.process_time()
        events = await read(url, chunks)
        costs.append((time.process_time() - started) / events * 1e6)
    return statistics.median(costs)


async def measure(base: str, verify: ssl.SSLContext | bool) -> dict[str, tuple[float, float]]:
    results = {}
    for name, make in (
        ("httpx", httpx_reader),
        ("aiohttp", aiohttp_reader),
        ("http1", http1_reader),
    ):
        read, close = make(verify)
        try:
            burst = await cpu_per_event(read, f"{base}/v1/chat/completions", BURST)
            paced = await cpu_per_event(read, f"{base}/paced/v1/chat/completions", PACED)
        finally:
            await close()
        results[name] = (burst, paced)
    return results


def self_signed(directory: Path) -> tuple[str, str]:
    cert, key = str(directory / "cert.pem"), str(directory / "key.pem")
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", key, "-out", cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def start_upstream(*args: str) -> tuple[subprocess.Popen[str], int]:
    command = [sys.executable, str(HERE / "fast_upstream.py"), *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        cert, key = self_signed(Path(directory))
        plain, plain_port = start_upstream()
        tls, tls_port = start_upstream("--tls", cert, key)
        try:
            context = ssl.create_default_context(cafile=cert)
            imports = "  ".join(
                f"{name} {import_ms(module):.0f}" for name, module in IMPORTS.items()
            )
            print(f"import (ms): {imports}")
            print("CPU per event (us) of this process: 2,000-event burst | paced, 1 ms apart")
            for loop_name, run in (("asyncio", asyncio.run), ("uvloop", uvloop.run)):
                for scheme, port, verify in (
                    ("http", plain_port, True),
                    ("https", tls_port, context),
                ):
                    results = run(measure(f"{scheme}://127.0.0.1:{port}", verify))
                    row = "  ".join(
                        f"{name} {burst:5.1f} | {paced:5.1f}"
                        for name, (burst, paced) in results.items()
                    )
                    print(f"{loop_name:8s} {scheme:5s}  {row}")
        finally:
            for process in (plain, tls):
                process.terminate()
                process.wait(10)


if __name__ == "__main__":
    main()
