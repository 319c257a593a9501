"""Peak memory growth of the gateway while a hostile provider streams too much.

    .venv/bin/python benchmarks/hostile_provider.py [MiB]          # one endless event
    .venv/bin/python benchmarks/hostile_provider.py --chunks N      # N tiny chunks

One endless event: the fake provider sends `data: ` and then MiB (default 256) of bytes
without a line end; the gateway must end the request at its 8 MiB event bound on both
provider paths. Prints, per path, the gateway process's peak RSS growth and how much the
provider had sent when the gateway went away. Tiny chunks: a complete answer of N
one-character chunks (LiteLLM once kept every chunk of a stream until its end). The
gateway runs in this process (uvicorn in a thread), so the RSS is the gateway's plus the
fake's share (its script) and the client's (the answer it reads).
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from gateway.config import Settings  # noqa: E402
from tests.support import fake_upstream as fake  # noqa: E402
from tests.support.fake_upstream import FakeUpstream  # noqa: E402
from tests.support.gateway import TENANT_KEY, gateway_env  # noqa: E402
from tests.support.servers import serve  # noqa: E402

MIB = 1 << 20


def rss_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
    return 0


def ask(url: str, model: str, stream: bool) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": f"Bearer {TENANT_KEY}"},
        timeout=300,
    )


def main() -> None:
    tiny_chunks = sys.argv[1] == "--chunks" if len(sys.argv) > 1 else False
    size = int(sys.argv[-1]) if len(sys.argv) > 1 else 256
    upstream = FakeUpstream().start()
    peak = [0]
    watching = threading.Event()

    def watch() -> None:
        while watching.is_set():
            peak[0] = max(peak[0], rss_mb())
            time.sleep(0.005)

    print(f"{'path':<12} {'peak RSS growth (MB)':>21} {'provider had sent (MiB)':>24}  outcome")
    with serve(Settings.from_env(gateway_env(upstream.url))) as url:
        for model in ("direct", "via-litellm"):
            upstream.scripts["scripted"] = fake.text(["warm", " up"])
            ask(url, model, stream=False)  # imports and connections before measuring
            if tiny_chunks:
                tiny = b"".join(fake.chunk({"content": "a"}) for _ in range(size))
                upstream.scripts["scripted"] = fake.Script(steps=[tiny, fake.chunk({}, "stop")])
            else:
                upstream.scripts["scripted"] = fake.Script(
                    steps=[b"data: "] + [b"a" * MIB] * size, ending="hang"
                )
            base = peak[0] = rss_mb()
            watching.set()
            watcher = threading.Thread(target=watch)
            watcher.start()
            response = ask(url, model, stream=True)
            watching.clear()
            watcher.join()
            if tiny_chunks:
                events = response.content.count(b'"content":"a"')
                print(f"{model:<12} {peak[0] - base:>21} {'-':>24}  {events} chunks relayed")
                continue
            outcome = "error event" if b"too large" in response.content else "NOT BOUNDED"
            sent = upstream.wait_gone(5).sent_events - 1
            print(f"{model:<12} {peak[0] - base:>21} {sent:>24}  {outcome}")
    upstream.stop()


if __name__ == "__main__":
    main()
