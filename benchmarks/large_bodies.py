"""How long a maximum-size body of small items blocks other requests, on every door
(issue 24: at most 100 ms).

    .venv/bin/python benchmarks/large_bodies.py [--rounds N] [--model M]

Each row is the median of N rounds (3 by default) by `/health`'s longest wait. `--model`:
the route every body names, `direct` (the direct path) by default, or `via-litellm`.

The gateway runs in a process of its own (uvicorn), the fake provider in another (so its
parsing of a 4 MiB body competes with neither the gateway nor the probe); this process
sends, one at a time, each body below to its door while a probe asks for `/health` every
10 ms, then times 50 ordinary requests on the same door (a short question) without
a large body in flight. The baseline is `/health` alone, measured in the same run.

Bodies, each just under the 4 MiB body limit (`tests/support/large_bodies.py`): small
items beyond what a request may hold (refused), items at that bound, and 4 MiB of small
objects where no item is counted (a tool's JSON schema): the bound there is the JSON parse
itself. Columns: the large request's status and time, `/health` p50, p99 and max during
it, and an ordinary request's median and p90.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from tests.support.gateway import TENANT_KEY, gateway_env  # noqa: E402
from tests.support.large_bodies import LARGE_BODIES, USER  # noqa: E402
from tests.support.servers import serve_process, upstream_process  # noqa: E402

ORDINARY: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": "direct", "messages": [{"role": "user", "content": "hi"}]},
    "/v1/responses": {"model": "direct", "input": "hi"},
    "/v1/messages": {"model": "direct", "max_tokens": 5, "messages": [USER]},
    "/v1/messages/count_tokens": {"model": "direct", "messages": [USER]},
    "/v1/embeddings": {"model": "direct", "input": "hi"},
}
HEADERS = {"authorization": f"Bearer {TENANT_KEY}", "content-type": "application/json"}


class HealthProbe:
    """Times `GET /health` every 10 ms, from a thread, while `running()`."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._running = threading.Event()
        self.times_ms: list[float] = []

    @contextmanager
    def running(self) -> Iterator[HealthProbe]:
        self.times_ms = []
        self._running.set()
        thread = threading.Thread(target=self._probe)
        thread.start()
        try:
            time.sleep(0.05)  # a few probes before the request
            yield self
            time.sleep(0.05)
        finally:
            self._running.clear()
            thread.join()

    def _probe(self) -> None:
        with httpx.Client(timeout=60) as client:
            while self._running.is_set():
                started = time.perf_counter()
                client.get(f"{self._url}/health")
                self.times_ms.append((time.perf_counter() - started) * 1000)
                time.sleep(0.01)

    def figures(self) -> tuple[float, float, float]:
        times = sorted(self.times_ms)
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        return statistics.median(times), p99, times[-1]


def ordinary_ms(client: httpx.Client, url: str, path: str, model: str) -> tuple[float, float]:
    """Median and p90 of 50 small requests to `path`, after 5 to warm up."""
    body = orjson.dumps({**ORDINARY[path], "model": model})
    times = []
    for index in range(55):
        started = time.perf_counter()
        answer = client.post(f"{url}{path}", content=body, headers=HEADERS)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: {answer.status_code} {answer.text[:200]}")
        if index >= 5:
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9)]


def main() -> None:
    rounds = int(_option("--rounds", "3"))
    model = _option("--model", "direct")
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"large bodies to {model}, the median of {rounds} rounds (load average {load})")
    head = f"{'body':<24} {'items':>7} {'status':>6} {'took':>7} {'p50':>6} {'p99':>6} {'max':>6}"
    print(f"{head}   ordinary request: median, p90 (ms)")
    with (
        upstream_process() as upstream_url,
        serve_process(gateway_env(upstream_url)) as (url, _),
        httpx.Client(timeout=60) as client,
    ):
        for path in ORDINARY:
            ordinary_ms(client, url, path, model)  # first requests: imports, connections
        probe = HealthProbe(url)
        with probe.running():
            time.sleep(0.5)
        p50, p99, worst = probe.figures()
        print(
            f"{'/health alone':<24} {'':>7} {'':>6} {'':>7} {p50:>6.1f} {p99:>6.1f} {worst:>6.1f}"
        )
        for name, (path, body, _) in LARGE_BODIES.items():
            content = orjson.dumps({**body, "model": model})
            runs = []
            for _ in range(rounds):
                with probe.running():
                    started = time.perf_counter()
                    answer = client.post(f"{url}{path}", content=content, headers=HEADERS)
                    took = (time.perf_counter() - started) * 1000
                runs.append((probe.figures(), took, answer.status_code))
            (p50, p99, worst), took, status = sorted(runs, key=lambda run: run[0][2])[rounds // 2]
            median, p90 = ordinary_ms(client, url, path, model)
            items = max(len(v) for v in _lists(body))
            print(
                f"{name:<24} {items:>7} {status:>6} {took:>7.0f} {p50:>6.1f} {p99:>6.1f}"
                f" {worst:>6.1f}   {median:.2f}, {p90:.2f}"
            )


def _option(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def _lists(value: Any) -> Iterator[list[Any]]:
    """Every list in `value`, to report the longest one's length."""
    if isinstance(value, list):
        yield value
        for item in value:
            yield from _lists(item) if isinstance(item, list | dict) else ()
    elif isinstance(value, dict):
        for item in value.values():
            yield from _lists(item)


if __name__ == "__main__":
    main()
