"""Per-tenant limits as a tenant sees them, through the official SDKs and on the wire:
allowance headers (streamed too), refusals in each door's shape with the waits the SDKs
honour, budgets refused once without retries, concurrency with open streams, disconnects
and cache hits charged right, the usage report priced by hand, tenants isolated."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import anthropic
import httpx
import openai
import pytest

from gateway.config import Settings
from gateway.doors.chat import CHAT_COMPLETIONS
from gateway.limits.estimate import input_token_bound
from gateway.limits.windows import day_of
from tests.support import anthropic_standin as standin
from tests.support import fake_upstream as fake
from tests.support.anthropic_standin import AnthropicStandIn
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import OTHER_TENANT_KEY, PROVIDER_KEY, TENANT_KEY, gateway_env
from tests.support.servers import serve, serve_app

START = 1_750_000_000 // 60 * 60 + 30.0
"""Thirty seconds into a minute (and into 2025-06-15, UTC)."""
PRICE = {"input": 2, "output": 10, "cache_read": 0.5, "cache_write": 2.5}
"""Dollars per million tokens: picodollars per token x 10^-6."""
MAX_TOKENS = 10
T = TypeVar("T")


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def anthropic_api() -> Iterator[AnthropicStandIn]:
    stand_in = AnthropicStandIn(PROVIDER_KEY)
    with serve_app(stand_in.app) as url:
        stand_in.url = url  # type: ignore[attr-defined]
        yield stand_in


@pytest.fixture
def claude(anthropic_api: AnthropicStandIn) -> AnthropicStandIn:
    """The stand-in, fresh for the test, behind the `claude` route."""
    anthropic_api.reset()
    return anthropic_api


@contextlib.contextmanager
def gateway(
    upstream: FakeUpstream,
    acme: dict[str, Any],
    anthropic_api: AnthropicStandIn | None = None,
    **env: str,
) -> Iterator[tuple[str, Clock]]:
    """`acme` (these options; every route) and `globex` (unlimited, `echo` and `priced`)
    on a memory store; with `anthropic_api`, a priced `claude` route passed through
    natively to it."""
    clock = Clock()
    tenants = {
        "acme": {"keys": [TENANT_KEY], **acme},
        "globex": {"keys": [OTHER_TENANT_KEY], "models": ["echo", "priced"]},
    }
    models = {
        "echo": {"model": "echo", "price": PRICE, "max_output_tokens": 100},
        "priced": {
            "model": "openai/scripted",
            "api_base": upstream.url,
            "api_key_env": "FAKE_PROVIDER_KEY",
            "price": PRICE,
            "max_output_tokens": 100,
        },
    }
    if anthropic_api is not None:
        models["claude"] = {
            "model": "anthropic/claude-test-4",
            "api_base": anthropic_api.url,  # type: ignore[attr-defined]
            "api_key_env": "FAKE_PROVIDER_KEY",
            "price": PRICE,
            "max_output_tokens": 100,
        }
    settings = Settings.from_env(
        gateway_env(
            upstream.url,
            GATEWAY_API_KEYS=json.dumps(tenants),
            GATEWAY_MODELS=json.dumps(models),
            GATEWAY_USAGE_URL="memory://",
            **env,
        )
    )
    with serve(settings, clock) as url:
        yield url, clock


def body(content: str = "hi", stream: bool = False) -> dict[str, Any]:
    return {
        "model": "priced",
        "stream": stream,
        "max_tokens": MAX_TOKENS,
        "messages": [{"role": "user", "content": content}],
    }


def post(url: str, payload: dict[str, Any], key: str = TENANT_KEY) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        json=payload,
        headers={"authorization": f"Bearer {key}"},
        timeout=10,
    )


def reservation_tokens(payload: dict[str, Any]) -> int:
    """The input bound the gateway reserves for `payload` (plus its `max_tokens`)."""
    return input_token_bound(CHAT_COMPLETIONS.parse(payload).body) + MAX_TOKENS


def picodollars(input_tokens: int, output_tokens: int, read: int = 0, write: int = 0) -> int:
    return (
        input_tokens * 2_000_000 + output_tokens * 10_000_000 + read * 500_000 + write * 2_500_000
    )


def usage_report(url: str, key: str = TENANT_KEY, day: str = "2025-06-15") -> list[dict[str, Any]]:
    response = httpx.get(
        f"{url}/v1/usage",
        params={"start": day, "end": day},
        headers={"authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


def test_requests_per_minute_refused_with_its_reset_and_retry_after(
    upstream: FakeUpstream,
) -> None:
    with gateway(upstream, {"limits": {"requests_per_minute": 2}}) as (url, clock):
        first, second, refused = (post(url, body()) for _ in range(3))
        clock.now += 30  # the next minute
        next_minute = post(url, body())

    assert [r.status_code for r in (first, second, refused, next_minute)] == [200, 200, 429, 200]
    assert [r.headers["x-ratelimit-remaining-requests"] for r in (first, second)] == ["1", "0"]
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-reset-requests"] == "30s"
    assert refused.json()["error"] | {"message": ""} == {
        "message": "",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert (refused.headers["retry-after"], refused.headers["retry-after-ms"]) == ("30", "30000")
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert next_minute.headers["x-ratelimit-remaining-requests"] == "1"
    assert len(upstream.requests) == 3


def test_tokens_per_minute_reserve_an_upper_bound_and_settle_to_the_reported_usage(
    upstream: FakeUpstream,
) -> None:
    """Each answer reports 5 + 7 tokens: after settling, two requests fit where the
    reservation alone would have fitted one."""
    bound = reservation_tokens(body())
    limit = bound + 20
    with gateway(upstream, {"limits": {"tokens_per_minute": limit}}) as (url, clock):
        first, second, refused = (post(url, body()) for _ in range(3))
        clock.now += 45
        later = post(url, body())

    assert [r.status_code for r in (first, second, refused, later)] == [200, 200, 429, 200]
    assert first.headers["x-ratelimit-remaining-tokens"] == str(limit - bound)
    assert second.headers["x-ratelimit-remaining-tokens"] == str(limit - 12 - bound)
    assert refused.json()["error"]["type"] == "tokens"
    assert refused.headers["retry-after"] == "30"
    assert later.headers["x-ratelimit-reset-tokens"] == "45s"


def test_a_budget_that_fits_n_requests_admits_n_then_the_openai_sdk_raises_once(
    upstream: FakeUpstream,
) -> None:
    """The provider reports exactly what was reserved (its input bound, all of it written
    to the prompt cache, the dearest input; `max_tokens` out), so the budget fits 3."""
    payload = body()
    reserved_input = reservation_tokens(payload) - MAX_TOKENS
    reported = {
        "prompt_tokens": reserved_input,
        "completion_tokens": MAX_TOKENS,
        "prompt_tokens_details": {"cache_write_tokens": reserved_input},
    }
    upstream.scripts["scripted"] = fake.Script(
        steps=[fake.chunk({"content": "ok"}, "stop"), fake.sse({"choices": [], "usage": reported})]
    )
    budget = 3 * picodollars(0, MAX_TOKENS, write=reserved_input) / 10**12
    sent: list[httpx.Request] = []
    acme = {"limits": {"budget": {"usd": budget, "period": "day"}}}
    with gateway(upstream, acme) as (url, _):
        client = openai.OpenAI(
            base_url=f"{url}/v1",
            api_key=TENANT_KEY,
            http_client=httpx.Client(event_hooks={"request": [sent.append]}),
        )
        for _ in range(3):
            client.chat.completions.create(**payload)
        with pytest.raises(openai.RateLimitError) as raised:
            client.chat.completions.create(**payload)

    assert raised.value.code == "insufficient_quota"
    assert raised.value.type == "insufficient_quota"
    assert raised.value.response.headers["x-should-retry"] == "false"
    assert len(sent) == 4  # no retries
    assert len(upstream.requests) == 3


def test_a_spent_budget_is_anthropics_usage_limit_error_and_the_sdk_raises_once(
    upstream: FakeUpstream,
) -> None:
    sent: list[httpx.Request] = []
    acme = {"limits": {"budget": {"usd": 0.000001, "period": "month"}}}
    with gateway(upstream, acme) as (url, _):
        client = anthropic.Anthropic(
            base_url=url,
            api_key=TENANT_KEY,
            http_client=anthropic.DefaultHttpxClient(event_hooks={"request": [sent.append]}),
        )
        with pytest.raises(anthropic.BadRequestError) as raised:
            client.messages.create(
                model="priced", max_tokens=1000, messages=[{"role": "user", "content": "hi"}]
            )

    assert raised.value.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "You have reached your specified API usage limits: this key's budget "
            "of $1e-06 for the month is spent (it renews at 2025-07-01T00:00:00Z).",
        },
    }
    assert len(sent) == 1
    assert upstream.requests == []


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
def test_the_messages_door_shows_anthropics_allowance_headers(
    upstream: FakeUpstream, stream: bool
) -> None:
    acme = {"limits": {"requests_per_minute": 5, "tokens_per_minute": 100_000}}
    with gateway(upstream, acme) as (url, _):
        response = httpx.post(
            f"{url}/v1/messages",
            headers={"x-api-key": TENANT_KEY, "anthropic-version": "2023-06-01"},
            json={
                "model": "priced",
                "max_tokens": 10,
                "stream": stream,
                "messages": [{"role": "user", "content": "hi"}],
            },
        )

    assert response.status_code == 200
    headers = response.headers
    assert headers["anthropic-ratelimit-requests-limit"] == "5"
    assert headers["anthropic-ratelimit-requests-remaining"] == "4"
    assert headers["anthropic-ratelimit-requests-reset"] == "2025-06-15T15:07:00Z"
    assert headers["anthropic-ratelimit-tokens-limit"] == "100000"
    assert "x-ratelimit-limit-requests" not in headers


def test_a_streamed_chat_completion_carries_the_allowance(upstream: FakeUpstream) -> None:
    with (
        gateway(upstream, {"limits": {"requests_per_minute": 5}}) as (url, _),
        httpx.stream(
            "POST",
            f"{url}/v1/chat/completions",
            json=body(stream=True),
            headers={"authorization": f"Bearer {TENANT_KEY}"},
        ) as response,
    ):
        response.read()

    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-ratelimit-remaining-requests"] == "4"


def test_concurrent_requests_count_open_streams(upstream: FakeUpstream) -> None:
    hold = fake.Hold()
    upstream.scripts["scripted"] = fake.Script(
        steps=[fake.chunk({"content": "a"}), hold, fake.chunk({}, "stop"), fake.usage()]
    )
    with gateway(upstream, {"limits": {"concurrent_requests": 2}}) as (url, _):
        headers = {"authorization": f"Bearer {TENANT_KEY}"}
        reading = []  # kept: an iterator let go of closes its response
        with contextlib.ExitStack() as streams:
            for _ in range(2):
                opened = streams.enter_context(
                    httpx.stream(
                        "POST",
                        f"{url}/v1/chat/completions",
                        json=body(stream=True),
                        headers=headers,
                    )
                )
                reading.append(opened.iter_bytes())
                next(reading[-1])  # it is open and streaming
            refused = post(url, body())
            hold.released.set()
        upstream.scripts["scripted"] = fake.text(["done"])
        after = post(url, body())

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.headers["retry-after"] == "1"
    assert after.status_code == 200


def test_a_client_that_leaves_mid_stream_is_charged_what_was_generated(
    upstream: FakeUpstream,
) -> None:
    """No usage was reported: the charge is estimated, a token per chunk relayed."""
    upstream.scripts["scripted"] = fake.Script(
        steps=[fake.chunk({"content": w}) for w in ("one", " two", " three")], ending="hang"
    )
    with gateway(upstream, {"limits": {"budget": {"usd": 1, "period": "day"}}}) as (url, _):
        with httpx.stream(
            "POST",
            f"{url}/v1/chat/completions",
            json=body(stream=True),
            headers={"authorization": f"Bearer {TENANT_KEY}"},
        ) as response:
            received = b""
            for part in response.iter_bytes():
                received += part
                if b"three" in received:
                    break
        upstream.wait_gone(5)
        rows = usage_report(url)

    [row] = rows
    assert row["output_tokens"] == 3
    assert row["input_tokens"] > 0
    assert row["cost_usd"] == picodollars(row["input_tokens"], 3) / 10**12


def test_a_response_cache_hit_costs_the_tenant_nothing(upstream: FakeUpstream) -> None:
    upstream.scripts["scripted"] = fake.text(["cached"])  # reports 5 + 7 tokens
    with gateway(
        upstream,
        {"limits": {"budget": {"usd": 1, "period": "day"}}},
        GATEWAY_CACHE_TTL_SECONDS="300",
        GATEWAY_CACHE_URL="memory://",
    ) as (url, clock):
        clock.now = time.time()  # the memory cache expires entries by the real clock
        stored, hit = post(url, body("same")), post(url, body("same"))
        rows = usage_report(url, day=day_of(clock.now))

    assert (stored.headers["x-gateway-cache"], hit.headers["x-gateway-cache"]) == ("miss", "hit")
    assert rows == [
        {
            "date": day_of(clock.now),
            "model": "priced",
            "requests": 2,
            "input_tokens": 5,
            "output_tokens": 7,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "cost_usd": picodollars(5, 7) / 10**12,
        }
    ]


def test_the_usage_report_on_every_door_equals_the_providers_usage_priced_by_hand(
    upstream: FakeUpstream,
) -> None:
    """Cached input priced at its own price, once: OpenAI's `prompt_tokens` (100) holds
    the 60 cached tokens."""
    reported = fake.sse(
        {
            "choices": [],
            "usage": {
                "prompt_tokens": 100,
                "completion_tokens": 20,
                "prompt_tokens_details": {"cached_tokens": 60},
            },
        }
    )
    upstream.scripts["scripted"] = fake.Script(
        steps=[fake.chunk({"content": "ok"}, "stop"), reported]
    )
    headers = {"authorization": f"Bearer {TENANT_KEY}"}
    message = {"role": "user", "content": "hi"}
    with gateway(upstream, {"limits": {"requests_per_minute": 100}}) as (url, _):
        for stream in (True, False):
            post(url, body(stream=stream)).raise_for_status()
            httpx.post(
                f"{url}/v1/responses",
                headers=headers,
                json={"model": "priced", "input": "hi", "stream": stream},
            ).raise_for_status()
            httpx.post(
                f"{url}/v1/messages",
                headers=headers,
                json={"model": "priced", "max_tokens": 5, "stream": stream, "messages": [message]},
            ).raise_for_status()
        mine, theirs = usage_report(url), usage_report(url, OTHER_TENANT_KEY)

    assert mine == [
        {
            "date": "2025-06-15",
            "model": "priced",
            "requests": 6,
            "input_tokens": 6 * 40,
            "output_tokens": 6 * 20,
            "cache_read_tokens": 6 * 60,
            "cache_write_tokens": 0,
            "cost_usd": 6 * picodollars(40, 20, read=60) / 10**12,
        }
    ]
    assert theirs == []


def test_a_tenants_limits_never_touch_another_and_an_admin_key_sees_every_tenant(
    upstream: FakeUpstream,
) -> None:
    acme_options = {"limits": {"requests_per_minute": 1}, "usage_admin": True}
    with gateway(upstream, acme_options) as (url, _):
        acme = [post(url, body()).status_code for _ in range(2)]
        globex = [post(url, body(), OTHER_TENANT_KEY) for _ in range(3)]
        every_tenant = usage_report(url)
        globex_own = usage_report(url, OTHER_TENANT_KEY)

    assert acme == [200, 429]
    assert [r.status_code for r in globex] == [200, 200, 200]
    assert "x-ratelimit-limit-requests" not in globex[0].headers
    assert [(row["tenant"], row["requests"]) for row in every_tenant] == [
        ("acme", 1),
        ("globex", 3),
    ]
    assert [("tenant" in row, row["requests"]) for row in globex_own] == [(False, 3)]


# The Messages door passed through to an `anthropic/...` route: the same admission and
# settlement, from the usage in Anthropic's own events and bodies.

NATIVE = {
    "model": "claude",
    "max_tokens": MAX_TOKENS,
    "messages": [{"role": "user", "content": "hi"}],
}
STANDIN_COST = picodollars(standin.INPUT_TOKENS, standin.OUTPUT_TOKENS)
"""What the stand-in's default answer costs, from the usage it reports."""


def anthropic_client(url: str, sent: list[httpx.Request] | None = None) -> anthropic.Anthropic:
    hooks = {"request": [sent.append]} if sent is not None else {}
    return anthropic.Anthropic(
        base_url=url,
        api_key=TENANT_KEY,
        http_client=anthropic.DefaultHttpxClient(event_hooks=hooks),
    )


def native_reservation(payload: dict[str, Any]) -> int:
    """What the gateway reserves for `payload` as sent, in picodollars: its input bound at
    the dearest input price (cache writes, 2.5) and its `max_tokens` at the output's."""
    return input_token_bound(payload) * 2_500_000 + payload["max_tokens"] * 10_000_000


def eventually(read: Callable[[], T], done: Callable[[T], bool]) -> T:
    """`read()` once `done` with it (settling a stream the client left ends after it)."""
    deadline = time.monotonic() + 5
    while not done(value := read()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return value


def test_a_budget_that_fits_n_native_requests_admits_n_then_the_anthropic_sdk_raises_once(
    upstream: FakeUpstream, claude: AnthropicStandIn
) -> None:
    """Each request settles to the stand-in's reported usage, so a budget of two answers
    and one more reservation admits exactly three."""
    budget = (2 * STANDIN_COST + native_reservation(NATIVE)) / 10**12
    sent: list[httpx.Request] = []
    acme = {"limits": {"budget": {"usd": budget, "period": "day"}}}
    with gateway(upstream, acme, claude) as (url, _):
        client = anthropic_client(url, sent)
        answers = [client.messages.create(**NATIVE) for _ in range(3)]
        with pytest.raises(anthropic.BadRequestError) as raised:
            client.messages.create(**NATIVE)

    assert [json.loads(request.content) for request in sent] == [NATIVE] * 4
    assert [answer.usage.output_tokens for answer in answers] == [standin.OUTPUT_TOKENS] * 3
    assert raised.value.body["error"]["message"].startswith(  # type: ignore[index]
        "You have reached your specified API usage limits"
    )
    assert raised.value.response.headers["x-should-retry"] == "false"
    assert len(sent) == 4  # no retries
    assert len(claude.received) == 3


def test_native_answers_carry_anthropics_allowance_headers_and_are_reported_at_the_providers_usage(
    upstream: FakeUpstream, claude: AnthropicStandIn
) -> None:
    """Streamed and not, a prompt-cache write then a read: each priced by its kind."""
    cached = {
        **NATIVE,
        "system": [{"type": "text", "text": "Stable.", "cache_control": {"type": "ephemeral"}}],
    }
    acme = {"limits": {"requests_per_minute": 10, "tokens_per_minute": 100_000}}
    with gateway(upstream, acme, claude) as (url, _):
        client = anthropic_client(url)
        plain = client.messages.with_raw_response.create(**NATIVE)
        written = client.messages.with_raw_response.create(**cached)
        with client.messages.with_streaming_response.create(**cached, stream=True) as read:
            read_events = read.read()
        rows = usage_report(url)

    assert [r.headers["anthropic-ratelimit-requests-remaining"] for r in (plain, written)] == [
        "9",
        "8",
    ]
    assert read.headers["anthropic-ratelimit-requests-remaining"] == "7"
    assert read.headers["anthropic-ratelimit-tokens-limit"] == "100000"
    assert read.headers["content-type"].startswith("text/event-stream")
    assert b"event: message_stop" in read_events
    assert "x-ratelimit-limit-requests" not in plain.headers
    cache = standin.CACHED_PREFIX_TOKENS
    assert rows == [
        {
            "date": "2025-06-15",
            "model": "claude",
            "requests": 3,
            "input_tokens": 3 * standin.INPUT_TOKENS,
            "output_tokens": 3 * standin.OUTPUT_TOKENS,
            "cache_read_tokens": cache,
            "cache_write_tokens": cache,
            "cost_usd": (3 * STANDIN_COST + picodollars(0, 0, read=cache, write=cache)) / 10**12,
        }
    ]


def test_a_native_call_the_provider_refuses_is_released(
    upstream: FakeUpstream, claude: AnthropicStandIn
) -> None:
    """A budget that fits one reservation, and one open request: the refused call gives
    both back, so the next is admitted."""
    claude.fail = (400, "invalid_request_error", "messages: at least one message is required")
    acme = {
        "limits": {
            "concurrent_requests": 1,
            "budget": {"usd": native_reservation(NATIVE) / 10**12, "period": "day"},
        }
    }
    with gateway(upstream, acme, claude) as (url, _):
        client = anthropic_client(url)
        with pytest.raises(anthropic.BadRequestError):
            client.messages.create(**NATIVE)
        answer = client.messages.create(**NATIVE)
        [row] = usage_report(url)

    assert answer.usage.input_tokens == standin.INPUT_TOKENS
    assert (row["requests"], row["cost_usd"]) == (2, STANDIN_COST / 10**12)


def test_a_client_that_leaves_a_native_stream_is_charged_the_providers_input_count(
    upstream: FakeUpstream, claude: AnthropicStandIn
) -> None:
    """`message_start` reported the input (and 1 output token) before the client left;
    nothing more was generated."""
    claude.hold = True
    acme = {"limits": {"budget": {"usd": 1, "period": "day"}}}
    with gateway(upstream, acme, claude) as (url, _):
        with httpx.stream(
            "POST",
            f"{url}/v1/messages",
            json={**NATIVE, "stream": True},
            headers={"x-api-key": TENANT_KEY, "anthropic-version": "2023-06-01"},
        ) as response:
            received = b""
            for part in response.iter_bytes():
                received += part
                if b"message_start" in received:
                    break
        assert claude.last.gone.wait(5)
        rows = eventually(lambda: usage_report(url), bool)

    assert [(row["input_tokens"], row["output_tokens"]) for row in rows] == [
        (standin.INPUT_TOKENS, 1)
    ]
    assert rows[0]["cost_usd"] == picodollars(standin.INPUT_TOKENS, 1) / 10**12


def test_the_embeddings_door_counts_against_the_limits(upstream: FakeUpstream) -> None:
    # GIVEN a tenant with two requests a minute and one dollar a day
    limits = {"requests_per_minute": 2, "budget": {"usd": 1, "period": "day"}}
    with gateway(upstream, {"limits": limits}) as (url, _):
        embed = {"model": "echo", "input": ["one", "two"]}
        first, second, refused = (
            httpx.post(
                f"{url}/v1/embeddings",
                json=embed,
                headers={"authorization": f"Bearer {TENANT_KEY}"},
                timeout=30,
            )
            for _ in range(3)
        )
        report = usage_report(url)
    # THEN embeddings are admitted, counted and refused like completions
    assert [r.status_code for r in (first, second, refused)] == [200, 200, 429]
    assert [r.headers["x-ratelimit-remaining-requests"] for r in (first, second)] == ["1", "0"]
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert sum(row["requests"] for row in report) == 2
    assert sum(row["input_tokens"] for row in report) == 2 * first.json()["usage"]["prompt_tokens"]
