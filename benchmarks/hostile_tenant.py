"""Peak memory growth and `/health` latency of the gateway while a hostile tenant attacks
the state it keeps (issue 24, items 1 and 2).

    .venv/bin/python benchmarks/hostile_tenant.py [chain|flood ...]   # both by default

The gateway runs in a process of its own (uvicorn, the default SQLite store in a temp
directory, a cache TTL), so its RSS is its own; this process is the tenants, the fake
provider and a probe that asks for `/health` every 10 ms while the attack runs.

- chain: 18 requests of 3.75 MB of `reasoning` items (stored, never sent upstream), each
  naming the previous response, then 30 small follow-ups, three at a time, naming
  the largest record that was kept. Without a bound the record grew to ~64 MiB inflated and one
  follow-up took 3 s, blocked `/health` 3 s and 2.2 GB.
- flood: another tenant stores 330 responses of 1.2 MB of incompressible reasoning
  (about 900 KiB each as stored): 300 MB, more than the whole store; then the first
  tenant's follow-up and cached answer are checked.

Goals: peak RSS growth <= 150 MB, `/health` p99 <= 100 ms.
"""

from __future__ import annotations

import base64
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from tests.support.fake_upstream import FakeUpstream  # noqa: E402
from tests.support.gateway import OTHER_TENANT_KEY, TENANT_KEY, gateway_env  # noqa: E402
from tests.support.servers import serve_process  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


class Watch:
    """Samples the gateway's RSS every 5 ms and times `GET /health` every 10 ms."""

    def __init__(self, url: str, pid: int) -> None:
        self._url, self._pid = url, pid
        self._running = threading.Event()
        self.reset()

    def reset(self) -> None:
        """Start a new measurement: the RSS now is its base."""
        self.base = self.peak = rss_mb(self._pid)
        self.health_ms: list[float] = []

    @contextmanager
    def running(self) -> Iterator[Watch]:
        self._running.set()
        threads = [threading.Thread(target=self._rss), threading.Thread(target=self._health)]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self._running.clear()
            for thread in threads:
                thread.join()

    def _rss(self) -> None:
        while self._running.is_set():
            self.peak = max(self.peak, rss_mb(self._pid))
            time.sleep(0.005)

    def _health(self) -> None:
        with httpx.Client(timeout=60) as client:
            while self._running.is_set():
                started = time.perf_counter()
                client.get(f"{self._url}/health")
                self.health_ms.append((time.perf_counter() - started) * 1000)
                time.sleep(0.01)

    def report(self, name: str, outcome: str) -> None:
        times = sorted(self.health_ms)
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(
            f"{name:<6} {self.peak - self.base:>10.0f} {p99:>9.1f} {times[-1]:>9.1f}"
            f" {len(times):>7}  {outcome}"
        )


def post(client: httpx.Client, url: str, key: str, path: str, body: dict[str, Any]) -> Any:
    return client.post(
        f"{url}{path}",
        content=orjson.dumps(body),
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
    )


def reasoning(text: str) -> dict[str, Any]:
    return {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": text}


def chain(url: str, watch: Watch) -> str:
    thoughts = reasoning("x" * 3_750_000)
    statuses = []
    with httpx.Client(timeout=300) as client:
        with watch.running():
            previous = kept = None
            for _ in range(18):
                body = {"model": "direct", "input": [thoughts, {"role": "user", "content": "go"}]}
                body["previous_response_id"] = previous
                answer = post(client, url, TENANT_KEY, "/v1/responses", body)
                statuses.append(answer.status_code)
                if answer.status_code != 200:
                    break
                kept = previous or answer.json()["id"]  # the largest record a follow-up found
                previous = answer.json()["id"]
        watch.report("build", "chain statuses " + ",".join(map(str, statuses)))
        watch.reset()
        follow_up = {"model": "direct", "input": "hi", "previous_response_id": kept}

        def one(_: int) -> tuple[int, float]:
            started = time.perf_counter()
            status = post(client, url, TENANT_KEY, "/v1/responses", follow_up).status_code
            return status, time.perf_counter() - started

        with watch.running(), ThreadPoolExecutor(3) as pool:
            results = list(pool.map(one, range(30)))
    answered = sorted({status for status, _ in results})
    slowest = max(took for _, took in results) * 1000
    return f"30 follow-ups, 3 at a time: {answered}, slowest {slowest:.0f} ms"


def flood(url: str, watch: Watch) -> str:
    acme = TENANT_KEY
    question = {"model": "direct", "messages": [{"role": "user", "content": "cache me"}]}
    noise = base64.b64encode(os.urandom(900 * 1024)).decode()
    body = {"model": "echo", "input": [reasoning(noise), {"role": "user", "content": "hi"}]}
    with httpx.Client(timeout=300) as client:
        kept = post(client, url, acme, "/v1/responses", {"model": "direct", "input": "I am Ada"})
        post(client, url, acme, "/v1/chat/completions", question)
        started = time.perf_counter()
        with watch.running():
            for _ in range(330):
                post(client, url, OTHER_TENANT_KEY, "/v1/responses", body)
        took = time.perf_counter() - started
        follow_up = {"model": "direct", "input": "Who?", "previous_response_id": kept.json()["id"]}
        after = post(client, url, acme, "/v1/responses", follow_up).status_code
        cached = post(client, url, acme, "/v1/chat/completions", question)
    return (
        f"330 stores in {took:.0f} s; the other tenant's follow-up: {after}, "
        f"its cached answer: {cached.headers.get('x-gateway-cache')}"
    )


ATTACKS: dict[str, Callable[[str, Watch], str]] = {"chain": chain, "flood": flood}
"""Each runs its attack under `watch` and says how it went (the chain reports its
building on its own line, then its follow-ups)."""


def main() -> None:
    names = sys.argv[1:] or list(ATTACKS)
    upstream = FakeUpstream().start()
    print(f"{'attack':<6} {'RSS+ (MB)':>10} {'p99 (ms)':>9} {'max (ms)':>9} {'probes':>7}  outcome")
    try:
        for name in names:
            with tempfile.TemporaryDirectory() as folder:
                store = f"sqlite://{folder}/state.sqlite3"
                env = gateway_env(
                    upstream.url,
                    GATEWAY_CACHE_TTL_SECONDS="3600",
                    GATEWAY_CACHE_URL=store,
                    GATEWAY_RESPONSES_STORE_URL=store,
                )
                with serve_process(env) as (url, pid):
                    with httpx.Client() as warm:  # first requests, imports, the store's file
                        post(
                            warm,
                            url,
                            TENANT_KEY,
                            "/v1/responses",
                            {"model": "direct", "input": "hi"},
                        )
                    watch = Watch(url, pid)
                    outcome = ATTACKS[name](url, watch)
                    watch.report(name, outcome)
    finally:
        upstream.stop()


if __name__ == "__main__":
    main()
