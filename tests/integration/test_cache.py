"""The response cache, as clients see it: the official `openai` SDK against a gateway
under uvicorn with the embedded (SQLite) store, on both provider paths.

Every test asks its own question (a fresh uuid in the prompt), so entries stored by one
test never answer another; the fake upstream's request log shows what was not cached.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from gateway.config import Settings
from tests.integration.test_request_log import emf_records, metric_names
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY, gateway_env
from tests.support.servers import serve

ROUTES = ["direct", "via-litellm"]
OTHER_KEY = "sk-test-initech-5555555555"
OPTED_OUT_KEY = "sk-test-optout-7777777777"


def cached_env(upstream_url: str, **overrides: str) -> dict[str, str]:
    """The test environment with a 300 s cache, an `uncached` route (TTL 0), a second
    tenant and one that opted out."""
    env = gateway_env(upstream_url, GATEWAY_CACHE_TTL_SECONDS="300")
    models = json.loads(env["GATEWAY_MODELS"])
    models["uncached"] = {**models["direct"], "cache_ttl_seconds": 0}
    env["GATEWAY_MODELS"] = json.dumps(models)
    env["GATEWAY_API_KEYS"] = json.dumps(
        {
            "acme": [TENANT_KEY],
            "initech": [OTHER_KEY],
            "optout": {"keys": [OPTED_OUT_KEY], "cache": False},
        }
    )
    return env | overrides


@pytest.fixture(scope="module")
def cache_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache") / "cache.sqlite3"


@dataclass
class MovedClock:
    """Unix time, moved forward by the test instead of waiting."""

    ahead: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.ahead


@pytest.fixture(scope="module")
def clock() -> MovedClock:
    return MovedClock()


@pytest.fixture(scope="module")
def cached_url(upstream: FakeUpstream, cache_file: Path, clock: MovedClock) -> Iterator[str]:
    settings = Settings.from_env(
        cached_env(upstream.url, GATEWAY_CACHE_URL=f"sqlite://{cache_file}")
    )
    with serve(settings, clock) as url:
        yield url


def sdk(url: str, key: str = TENANT_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0)


@pytest.fixture
def client(cached_url: str) -> openai.OpenAI:
    return sdk(cached_url)


def question() -> list[dict[str, str]]:
    return [{"role": "user", "content": f"question {uuid.uuid4().hex}"}]


@dataclass
class Answer:
    """One response as the SDK parsed it, streamed or not."""

    cache: str | None
    age: str | None
    ids: set[str]
    created: set[int]
    model: str
    text: str
    finish_reason: str | None
    usage: tuple[int, int, int] | None
    tool_calls: list[tuple[str | None, str | None, str]] = field(default_factory=list)
    usage_chunks: int = 0


def ask(
    client: openai.OpenAI,
    model: str,
    messages: list[dict[str, str]],
    *,
    stream: bool,
    cache_control: str | None = None,
    **params: Any,
) -> Answer:
    headers = {"cache-control": cache_control} if cache_control else {}
    if stream:
        with client.chat.completions.with_streaming_response.create(
            model=model, messages=messages, stream=True, extra_headers=headers, **params
        ) as response:
            chunks = list(response.parse())
            head = response.headers
        calls: dict[int, list[Any]] = {}
        for c in chunks:
            for tc in (c.choices[0].delta.tool_calls or []) if c.choices else []:
                call = calls.setdefault(tc.index, [None, None, ""])
                call[0] = call[0] or tc.id
                if tc.function is not None:
                    call[1] = call[1] or tc.function.name
                    call[2] += tc.function.arguments or ""
        usage = chunks[-1].usage
        return Answer(
            cache=head.get("x-gateway-cache"),
            age=head.get("age"),
            ids={c.id for c in chunks},
            created={c.created for c in chunks},
            model=chunks[0].model,
            text="".join(c.choices[0].delta.content or "" for c in chunks if c.choices),
            finish_reason=[c.choices[0].finish_reason for c in chunks if c.choices][-1],
            usage=None if usage is None else _usage(usage),
            tool_calls=[tuple(calls[i]) for i in sorted(calls)],  # type: ignore[misc]
            usage_chunks=sum(1 for c in chunks if c.usage is not None),
        )
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=messages, extra_headers=headers, **params
    )
    completion = raw.parse()
    message = completion.choices[0].message
    return Answer(
        cache=raw.headers.get("x-gateway-cache"),
        age=raw.headers.get("age"),
        ids={completion.id},
        created={completion.created},
        model=completion.model,
        text=message.content or "",
        finish_reason=completion.choices[0].finish_reason,
        usage=None if completion.usage is None else _usage(completion.usage),
        tool_calls=[
            (tc.id, tc.function.name, tc.function.arguments)
            for tc in message.tool_calls or []
            if tc.type == "function"
        ],
    )


def _usage(usage: Any) -> tuple[int, int, int]:
    return (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("model", ROUTES)
def test_a_repeated_request_is_answered_from_the_cache_with_a_fresh_id(
    client: openai.OpenAI, upstream: FakeUpstream, model: str, stream: bool
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hello", ",", " world"])
    messages = question()

    first = ask(client, model, messages, stream=stream)
    second = ask(client, model, messages, stream=stream)

    assert (first.cache, first.age) == ("miss", None)
    assert (second.cache, second.age) == ("hit", "0")
    assert len(upstream.requests) == 1
    assert second.text == first.text == "Hello, world"
    assert second.finish_reason == first.finish_reason == "stop"
    assert second.model == first.model == model
    assert len(second.ids) == 1
    assert second.ids != first.ids
    assert len(second.created) == 1


@pytest.mark.parametrize("model", ROUTES)
def test_a_streamed_answer_serves_json_and_the_other_way_round(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["one", " two"])
    streamed_first, json_first = question(), question()

    stored_streamed = ask(client, model, streamed_first, stream=True)
    as_json = ask(client, model, streamed_first, stream=False)
    stored_json = ask(client, model, json_first, stream=False)
    as_stream = ask(client, model, json_first, stream=True)

    assert [a.cache for a in (stored_streamed, as_json, stored_json, as_stream)] == [
        "miss",
        "hit",
        "miss",
        "hit",
    ]
    assert len(upstream.requests) == 2
    assert {as_json.text, as_stream.text} == {"one two"}
    assert as_json.usage == (5, 7, 12)


@pytest.mark.parametrize("model", ROUTES)
def test_a_hit_follows_the_current_request_include_usage(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hi"])
    messages = question()

    without = ask(client, model, messages, stream=True)
    with_usage = ask(client, model, messages, stream=True, stream_options={"include_usage": True})
    again_without = ask(client, model, messages, stream=True)

    assert (without.cache, with_usage.cache, again_without.cache) == ("miss", "hit", "hit")
    assert (without.usage_chunks, with_usage.usage_chunks, again_without.usage_chunks) == (
        0,
        1,
        0,
    )
    assert with_usage.usage == (5, 7, 12)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("model", ROUTES)
def test_tool_calls_are_replayed(
    client: openai.OpenAI, upstream: FakeUpstream, model: str, stream: bool
) -> None:
    upstream.scripts["scripted"] = fake.tool_call("get_weather", '{"city": "Paris"}')
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    messages = question()

    first = ask(client, model, messages, stream=stream, tools=tools)
    second = ask(client, model, messages, stream=not stream, tools=tools)

    assert (first.cache, second.cache) == ("miss", "hit")
    assert second.tool_calls == first.tool_calls == [("call_1", "get_weather", '{"city": "Paris"}')]
    assert second.finish_reason == "tool_calls"


@pytest.mark.parametrize("model", ROUTES)
def test_reasoning_is_replayed(cached_url: str, upstream: FakeUpstream, model: str) -> None:
    upstream.scripts["scripted"] = fake.reasoning(["Let me", " think"], "42")
    body = {"model": model, "messages": question()}
    post = [
        httpx.post(
            f"{cached_url}/v1/chat/completions",
            headers={"authorization": f"Bearer {TENANT_KEY}"},
            json=body,
        )
        for _ in range(2)
    ]

    assert [r.headers["x-gateway-cache"] for r in post] == ["miss", "hit"]
    messages = [r.json()["choices"][0]["message"] for r in post]
    assert messages[1] == messages[0]
    assert messages[1]["reasoning_content"] == "Let me think"


@pytest.mark.parametrize("model", ROUTES)
def test_tenants_never_share_an_answer(cached_url: str, upstream: FakeUpstream, model: str) -> None:
    upstream.scripts["scripted"] = [fake.text(["for acme"]), fake.text(["for initech"])]
    messages = question()

    acme = ask(sdk(cached_url), model, messages, stream=True)
    initech = ask(sdk(cached_url, OTHER_KEY), model, messages, stream=True)
    acme_again = ask(sdk(cached_url), model, messages, stream=False)
    initech_again = ask(sdk(cached_url, OTHER_KEY), model, messages, stream=False)

    assert (acme.cache, initech.cache) == ("miss", "miss")
    assert (acme_again.cache, initech_again.cache) == ("hit", "hit")
    assert (acme_again.text, initech_again.text) == ("for acme", "for initech")
    assert len(upstream.requests) == 2


@pytest.mark.parametrize("model", ROUTES)
def test_sampling_parameters_are_part_of_the_key(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hi"])
    messages = question()

    cool = ask(client, model, messages, stream=False, temperature=0.1)
    hot = ask(client, model, messages, stream=False, temperature=1.5)
    cool_again = ask(client, model, messages, stream=True, temperature=0.1)

    assert (cool.cache, hot.cache, cool_again.cache) == ("miss", "miss", "hit")
    assert len(upstream.requests) == 2


BROKEN = {
    "breaks off mid-answer": fake.Script(
        steps=[fake.chunk({"role": "assistant", "content": "Hel"})], ending="close"
    ),
    "closes after the finish_reason, without [DONE]": fake.Script(
        steps=[fake.chunk({"content": "Hi"}), fake.chunk({}, "stop")], ending="close"
    ),
    "reports an error after the finish_reason": fake.Script(
        steps=[
            fake.chunk({"content": "Hi"}),
            fake.chunk({}, "stop"),
            fake.sse({"error": {"message": "overloaded", "type": "server_error"}}),
        ]
    ),
    "ends without a finish_reason": fake.Script(
        steps=[fake.chunk({"role": "assistant", "content": "Hi"})], ending="done"
    ),
}


@pytest.mark.parametrize("script", list(BROKEN))
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("model", ROUTES)
def test_an_incomplete_answer_is_not_stored(
    cached_url: str, upstream: FakeUpstream, model: str, stream: bool, script: str
) -> None:
    upstream.scripts["scripted"] = [BROKEN[script], fake.text(["complete"])]
    body = {"model": model, "stream": stream, "messages": question()}

    def post() -> httpx.Response:
        return httpx.post(
            f"{cached_url}/v1/chat/completions",
            headers={"authorization": f"Bearer {TENANT_KEY}"},
            json=body,
        )

    post()
    after = post()

    assert after.headers["x-gateway-cache"] == "miss"
    assert len(upstream.requests) == 2
    assert "complete" in after.text


@pytest.mark.parametrize("model", ROUTES)
def test_a_stream_the_client_left_is_not_stored(
    cached_url: str, upstream: FakeUpstream, model: str
) -> None:
    """The provider would finish the answer, but the client leaves after the first words."""
    words = ["Hello"] + [" word"] * 5
    upstream.scripts["scripted"] = [fake.text(words, pause=0.2), fake.text(["complete"])]
    body = {"model": model, "stream": True, "messages": question()}
    auth = {"authorization": f"Bearer {TENANT_KEY}"}

    with httpx.stream(
        "POST", f"{cached_url}/v1/chat/completions", headers=auth, json=body
    ) as response:
        for line in response.iter_lines():
            if "Hello" in line:
                break
    upstream.wait_gone(5)
    after = httpx.post(f"{cached_url}/v1/chat/completions", headers=auth, json=body)

    assert after.headers["x-gateway-cache"] == "miss"
    assert "complete" in after.text
    assert len(upstream.requests) == 2


@pytest.mark.parametrize("model", ROUTES)
def test_a_stream_that_runs_out_of_time_is_not_stored(
    upstream: FakeUpstream, cache_file: Path, model: str
) -> None:
    """The provider sends the finish_reason, then nothing: the idle timeout ends it."""
    hangs = fake.Script(steps=[fake.chunk({"content": "Hi"}), fake.chunk({}, "stop")])
    hangs.ending = "hang"
    upstream.scripts["scripted"] = [hangs, fake.text(["complete"])]
    env = cached_env(
        upstream.url,
        GATEWAY_CACHE_URL=f"sqlite://{cache_file}",
        GATEWAY_IDLE_TIMEOUT_SECONDS="0.5",
    )
    messages = question()
    with serve(Settings.from_env(env)) as url:
        client = sdk(url)
        with pytest.raises(openai.APIError, match="Gateway timeout"):
            ask(client, model, messages, stream=True)
        # The stream's clean-up runs after its error event: once it has let go of the
        # provider's stream, the recording is over, stored or not.
        assert upstream.wait_gone(5).client_gone_at is not None
        after = ask(client, model, messages, stream=True)

    assert (after.cache, after.text) == ("miss", "complete")


@pytest.mark.parametrize("model", ROUTES)
def test_cache_control_no_cache_asks_the_provider_and_stores_the_new_answer(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = [fake.text(["old"]), fake.text(["new"])]
    messages = question()

    ask(client, model, messages, stream=True)
    fresh = ask(client, model, messages, stream=True, cache_control="no-cache")
    later = ask(client, model, messages, stream=False)

    assert (fresh.cache, fresh.text) == ("miss", "new")
    assert (later.cache, later.text) == ("hit", "new")
    assert len(upstream.requests) == 2


@pytest.mark.parametrize("model", ROUTES)
def test_cache_control_no_store_neither_reads_nor_writes(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = [fake.text(["stored"]), fake.text(["private"])]
    stored, private = question(), question()

    ask(client, model, stored, stream=False)
    bypassed = ask(client, model, stored, stream=True, cache_control="no-store")
    ask(client, model, private, stream=True, cache_control="No-Store")
    private_again = ask(client, model, private, stream=False)

    assert (bypassed.cache, bypassed.text) == ("bypass", "private")
    assert private_again.cache == "miss"
    assert len(upstream.requests) == 4


@pytest.mark.parametrize("model", ROUTES)
def test_cache_control_max_age_limits_the_age_of_an_answer(
    client: openai.OpenAI, upstream: FakeUpstream, clock: MovedClock, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hi"])
    messages = question()
    ask(client, model, messages, stream=True)
    clock.ahead += 1.1

    young_enough = ask(client, model, messages, stream=True, cache_control="max-age=60")
    too_old = ask(client, model, messages, stream=False, cache_control="max-age=1")
    zero = ask(client, model, messages, stream=True, cache_control="max-age=0")
    replaced = ask(client, model, messages, stream=True)

    assert (young_enough.cache, too_old.cache, zero.cache) == ("hit", "miss", "miss")
    assert young_enough.age is not None
    assert int(young_enough.age) >= 1
    assert (replaced.cache, replaced.age) == ("hit", "0")  # a miss stores its answer
    assert len(upstream.requests) == 3


@pytest.mark.parametrize("model", ROUTES)
def test_a_tenant_that_opted_out_is_never_cached(
    cached_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hi"])
    messages = question()

    answers = [ask(sdk(cached_url, OPTED_OUT_KEY), model, messages, stream=s) for s in (1, 0)]

    assert [a.cache for a in answers] == ["bypass", "bypass"]
    assert len(upstream.requests) == 2


def test_a_route_with_a_zero_ttl_is_not_cached(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.scripts["scripted"] = fake.text(["Hi"])
    messages = question()

    answers = [ask(client, "uncached", messages, stream=s) for s in (True, False)]

    assert [a.cache for a in answers] == [None, None]
    assert len(upstream.requests) == 2


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
def test_the_gateway_does_not_cache_unless_configured(
    gateway_url: str, upstream: FakeUpstream, stream: bool
) -> None:
    """`gateway_url` is the shared test gateway, configured without a cache TTL."""
    messages = question()

    answers = [ask(sdk(gateway_url), "direct", messages, stream=stream) for _ in range(2)]

    assert [a.cache for a in answers] == [None, None]
    assert len(upstream.requests) == 2


@pytest.mark.parametrize("model", ROUTES)
def test_an_answer_over_the_store_limit_is_not_stored_and_is_counted(
    cached_url: str,
    upstream: FakeUpstream,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    model: str,
) -> None:
    """1.6 MB of incompressible text: over the SQLite store's 1 MiB entry limit."""
    from tests.integration.test_request_log import read_log

    pieces = [base64.b64encode(os.urandom(75_000)).decode() for _ in range(16)]
    upstream.scripts["scripted"] = fake.text(pieces)
    body = {"model": model, "messages": question()}
    auth = {"authorization": f"Bearer {TENANT_KEY}"}
    capsys.readouterr()

    answers = [
        httpx.post(f"{cached_url}/v1/chat/completions", headers=auth, json=body, timeout=30)
        for _ in range(2)
    ]

    assert [a.headers["x-gateway-cache"] for a in answers] == ["miss", "miss"]
    assert answers[1].json()["choices"][0]["message"]["content"] == "".join(pieces)
    assert len(upstream.requests) == 2
    _, lines = read_log(caplog)
    assert [line.get("cache_too_large") for line in lines] == [True, True]
    records = [r for r in emf_records(capsys.readouterr().out) if "Requests" in r]
    assert [r.get("CacheEntriesTooLarge") for r in records] == [[1.0], [1.0]]


def test_the_request_log_and_metrics_say_hit_miss_or_bypass(
    client: openai.OpenAI,
    upstream: FakeUpstream,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.integration.test_request_log import read_log

    upstream.scripts["scripted"] = fake.text(["Hi"])
    messages = question()
    capsys.readouterr()

    for cache_control in (None, None, "no-store"):
        ask(client, "direct", messages, stream=False, cache_control=cache_control)

    _, lines = read_log(caplog)
    assert [line["cache"] for line in lines] == ["miss", "hit", "bypass"]
    records = emf_records(capsys.readouterr().out)
    assert [
        sorted(metric_names(r) & {"CacheHits", "CacheMisses", "TokensSaved"}) for r in records
    ] == [
        ["CacheMisses"],
        ["CacheHits", "TokensSaved"],
        [],
    ]
    assert records[1]["TokensSaved"] == [12.0]


@pytest.mark.parametrize(
    "cache_control",
    ["max-age=" + "9" * 5000, "max-age=\u00b2"],
    ids=["past int's digit limit", "superscript two"],
)
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
        ("/v1/responses", {"input": "hi"}),
        ("/v1/messages", {"max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}),
    ],
    ids=["chat", "responses", "messages"],
)
def test_no_cache_control_value_is_a_server_error(
    cached_url: str, path: str, body: dict[str, Any], cache_control: str
) -> None:
    headers = {"authorization": f"Bearer {TENANT_KEY}", "cache-control": cache_control}
    # as bytes: HTTP header values are Latin-1, which "²" is, and the server decodes so
    raw_headers = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]
    response = httpx.post(
        cached_url + path, json={"model": "direct", **body}, headers=raw_headers, timeout=30
    )
    assert response.status_code == 200, response.text


def test_an_answer_from_the_cache_is_not_counted_as_billed_tokens(
    client: openai.OpenAI,
    upstream: FakeUpstream,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The request log shows a hit's usage (that of the stored answer, `cache: "hit"`);
    the token metrics count only what a provider billed."""
    from tests.integration.test_request_log import read_log

    upstream.scripts["scripted"] = fake.text(["Hi"])
    messages = question()
    capsys.readouterr()

    for _ in range(2):
        ask(client, "direct", messages, stream=False)

    _, lines = read_log(caplog)
    assert [(line["cache"], line["input_tokens"], line["output_tokens"]) for line in lines] == [
        ("miss", 5, 7),
        ("hit", 5, 7),
    ]
    tokens = {"InputTokens", "CacheReadTokens", "CacheWriteTokens", "OutputTokens"}
    records = emf_records(capsys.readouterr().out)
    assert [sorted(metric_names(r) & tokens) for r in records] == [sorted(tokens), []]
    assert (records[0]["InputTokens"], records[0]["OutputTokens"]) == ([5.0], [7.0])
