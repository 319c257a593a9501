"""Load on loopback, bounded in count and time: concurrency without mixing, no leaks."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import OTHER_TENANT_KEY, TENANT_KEY, gateway_env
from tests.support.servers import serve_process


@pytest.fixture(scope="module")
def gateway_process(upstream: FakeUpstream) -> Iterator[tuple[str, int]]:
    """The gateway in its own process, so its memory can be read from /proc."""
    quiet = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
    with serve_process(gateway_env(upstream.url) | quiet) as served:
        yield served


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def one_stream(client: httpx.AsyncClient, url: str, key: str, model: str, n: int) -> str:
    text = f"request {n} for {key[-6:]} asks for its own words {n * 7919}"
    async with client.stream(
        "POST",
        f"{url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={"model": model, "stream": True, "messages": [{"role": "user", "content": text}]},
    ) as response:
        assert response.status_code == 200, await response.aread()
        content = ""
        async for line in response.aiter_lines():
            if line.startswith("data: {"):
                chunk = json.loads(line[6:])
                content += "".join(c["delta"].get("content") or "" for c in chunk["choices"])
    expected = text if model == "direct" else f"You said: {text}"
    assert content == expected, (n, content)
    return content


def test_200_concurrent_streams_each_get_exactly_their_own_content(
    gateway_process: tuple[str, int], upstream: FakeUpstream
) -> None:
    url, _ = gateway_process
    upstream.scripts["scripted"] = fake.Script(echo=True)

    async def run() -> list[str]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            return await asyncio.gather(
                *(
                    one_stream(
                        client,
                        url,
                        (TENANT_KEY, OTHER_TENANT_KEY)[n % 2] if n % 4 else TENANT_KEY,
                        "echo" if n % 2 else "direct",
                        n,
                    )
                    for n in range(200)
                )
            )

    started = time.monotonic()
    contents = asyncio.run(asyncio.wait_for(run(), timeout=60))
    print(f"\n200 concurrent streams in {time.monotonic() - started:.2f} s")
    assert len(set(contents)) == 200


def test_2000_sequential_streams_do_not_grow_memory(
    gateway_process: tuple[str, int], upstream: FakeUpstream
) -> None:
    url, pid = gateway_process
    upstream.scripts["scripted"] = fake.Script(echo=True)

    async def run(first: int, count: int) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            for n in range(first, first + count):
                await one_stream(client, url, TENANT_KEY, ("echo", "direct")[n % 2], n)

    asyncio.run(run(0, 300))  # warm-up: pools, caches, allocator arenas
    warm = rss_kib(pid)
    started = time.monotonic()
    asyncio.run(asyncio.wait_for(run(300, 2000), timeout=120))
    after = rss_kib(pid)
    print(
        f"\n2000 sequential streams in {time.monotonic() - started:.1f} s; "
        f"RSS after warm-up {warm / 1024:.1f} MiB, after 2000 more {after / 1024:.1f} MiB"
    )
    assert after - warm < 4 * 1024
