"""Attacks by a provider: its text is redacted before it is cut, its data is bounded in
size and CPU before it is parsed, and its headers are passed on only when well formed."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from gateway.config import Settings
from gateway.observability import logger
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import PROVIDER_KEY, chat, gateway_env
from tests.support.servers import serve

MESSAGES = [{"role": "user", "content": "hi"}]
PATHS = ["direct", "via-litellm"]
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def url(upstream: FakeUpstream) -> Iterator[str]:
    env = gateway_env(upstream.url, GATEWAY_IDLE_TIMEOUT_SECONDS="5")
    with serve(Settings.from_env(env)) as served:
        yield served


def key_fragments(length: int = 10) -> list[str]:
    return [PROVIDER_KEY[i : i + length] for i in range(len(PROVIDER_KEY) - length + 1)]


@pytest.mark.parametrize("model", PATHS)
def test_a_key_echoed_at_any_offset_around_the_cut_never_shows(
    url: str, upstream: FakeUpstream, model: str, caplog: pytest.LogCaptureFixture
) -> None:
    seen = []
    for offset in [*range(270, 305), *range(470, 505)]:  # around both cuts (tenant, log)
        message = "x" * offset + PROVIDER_KEY + " trailing text"
        upstream.scripts["scripted"] = fake.error(400, message)
        response = chat(url, model, stream=False)
        assert response.status_code == 400
        seen.append(response.text)
        # ... and in a stream, where the provider reports the error as an event.
        upstream.scripts["scripted"] = fake.Script(
            steps=[fake.chunk({"content": "a"}), fake.sse({"error": {"message": message}})]
        )
        seen.append(chat(url, model, stream=True).text)
    seen += [logger.registered_formatter.format(record) for record in caplog.records]

    everything = "\n".join(seen)
    assert "[redac" in everything
    for fragment in key_fragments():
        assert fragment not in everything


@pytest.mark.parametrize("model", PATHS)
@pytest.mark.parametrize("stream", [True, False])
def test_an_endless_event_ends_the_request_before_the_provider_is_done_sending_it(
    url: str, upstream: FakeUpstream, model: str, stream: bool
) -> None:
    # 64 MiB of one event without an end, sent a mebibyte at a time.
    upstream.scripts["scripted"] = fake.Script(steps=[b"data: "] + [b"a" * MIB] * 64, ending="hang")

    response = chat(url, model, stream=stream)

    sent = upstream.wait_gone(5)
    assert sent.client_gone_at is not None
    assert sent.sent_events < 32  # it stopped reading near the 8 MiB bound
    message = "The provider sent an event that is too large."
    if stream:
        assert response.status_code == 200
        assert response.text.endswith(
            f'"message":"{message}","type":"api_error","param":null,"code":"upstream_error"}}}}\n\n'
        )
    else:
        assert response.status_code == 502
        assert response.json()["error"]["message"] == message


@pytest.mark.parametrize("model", PATHS)
@pytest.mark.parametrize("stream", [True, False])
def test_a_compressed_body_is_refused_without_inflating_it(
    url: str, upstream: FakeUpstream, model: str, stream: bool
) -> None:
    # 64 MiB of newlines, about 64 KiB compressed: inflating it costs seconds of CPU.
    bomb = gzip.compress(b"\n" * (64 * MIB), compresslevel=9)
    upstream.scripts["scripted"] = fake.Script(
        steps=[bomb], headers={"content-encoding": "gzip"}, ending="eof"
    )
    health_waits: list[float] = []
    stop = threading.Event()

    def watch_health() -> None:
        while not stop.is_set():
            started = time.monotonic()
            httpx.get(f"{url}/health", timeout=10)
            health_waits.append(time.monotonic() - started)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch_health)
    watcher.start()
    try:
        response = chat(url, model, stream=stream)
    finally:
        stop.set()
        watcher.join()

    assert response.status_code == 502
    assert response.json()["error"]["message"] == (
        "The provider sent a compressed response, which the gateway did not ask for."
    )
    assert upstream.last().headers["accept-encoding"] == "identity"
    assert max(health_waits) < 1.0


@pytest.mark.parametrize("model", PATHS)
@pytest.mark.parametrize(
    ("sent", "passed_on"),
    [
        ("7", "7"),
        ("Wed, 21 Oct 2026 07:28:00 GMT", "Wed, 21 Oct 2026 07:28:00 GMT"),
        ("soon", None),
        ("99999999999999999999", None),
        ("5; evil\r\nx-injected: 1", None),
    ],
)
def test_retry_after_is_passed_on_only_when_well_formed(
    url: str, upstream: FakeUpstream, model: str, sent: str, passed_on: str | None
) -> None:
    upstream.scripts["scripted"] = fake.error(429, "slow down", {"retry-after": sent})

    response = chat(url, model, stream=False)

    assert response.status_code == 429
    assert response.headers.get("retry-after") == passed_on


@pytest.mark.parametrize("model", PATHS)
def test_control_characters_in_retry_after_never_reach_the_client(
    url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.error(429, "slow down", {"retry-after": "5\x0b"})

    response = chat(url, model, stream=False)

    # The direct path's parser refuses the header outright: a 502; LiteLLM's aiohttp strips
    # the control character. Either way a whole response, never a dropped connection.
    assert response.status_code in (429, 502)
    assert response.headers.get("retry-after") in (None, "5")
    assert response.json()["error"]["type"] in ("rate_limit_error", "api_error")
