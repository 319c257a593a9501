"""Runs the gateway under a real uvicorn server on loopback: in a background thread, or in
a process of its own."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from gateway.app import create_app
from gateway.config import Settings

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def serve(
    settings: Settings, clock: Callable[[], float] = time.time, **uvicorn_options: Any
) -> Iterator[str]:
    """Yields the base URL (`http://127.0.0.1:PORT`) while the server runs; `clock` is the
    app's (`create_app`)."""
    with serve_app(create_app(settings, clock), **uvicorn_options) as url:
        yield url


@contextlib.contextmanager
def serve_app(app: Any, **uvicorn_options: Any) -> Iterator[str]:
    """Any ASGI app under uvicorn in a background thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", **uvicorn_options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the gateway did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextlib.contextmanager
def serve_process(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """The gateway under uvicorn in a process of its own, configured by `env` (added to
    this process's environment); yields its base URL and process id while it runs."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "uvicorn", "gateway.app:app", "--app-dir", "functions"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the gateway process did not start") from None
                time.sleep(0.05)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


_UPSTREAM = (
    "import sys\n"
    "from tests.support.fake_upstream import FakeUpstream\n"
    "print(FakeUpstream().start().url, flush=True)\n"
    "sys.stdin.read()\n"
)


@contextlib.contextmanager
def upstream_process() -> Iterator[str]:
    """The fake upstream (its default scripts) in a process of its own, so that its
    parsing of large bodies holds neither the gateway's interpreter nor the caller's;
    yields its URL."""
    process = subprocess.Popen(
        [sys.executable, "-c", _UPSTREAM],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'functions'}"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        yield process.stdout.readline().strip()
    finally:
        process.communicate("", timeout=10)
