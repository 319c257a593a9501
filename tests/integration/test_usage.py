"""Usage says what was billed: input, cache reads, cache writes and output apart, in each
door's own vocabulary as the official SDKs parse it, streamed and not; and the same four
counts in the request log and the EMF record.

Two providers report prompt caching: an OpenAI-compatible one on the direct path
(`prompt_tokens_details.cached_tokens` and `cache_write_tokens`, inside `prompt_tokens`)
and Anthropic through LiteLLM (`cache_read_input_tokens`, `cache_creation_input_tokens`,
beside `input_tokens`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import openai
import pytest

from gateway.config import Settings
from tests.integration.test_request_log import emf_records, read_log
from tests.support import anthropic_script
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY, gateway_env
from tests.support.servers import serve


@dataclass(frozen=True)
class Billed:
    """What the provider billed, each count apart (input: neither read from the cache nor
    written to it)."""

    input: int
    cache_read: int
    cache_write: int
    output: int
    reasoning: int

    @property
    def all_input(self) -> int:
        return self.input + self.cache_read + self.cache_write


BILLED = {
    "direct": Billed(input=100, cache_read=600, cache_write=300, output=20, reasoning=8),
    # LiteLLM reports Anthropic's reasoning as a count of the thinking text: none here.
    "claude": Billed(input=11, cache_read=3000, cache_write=200, output=15, reasoning=0),
}
HELLO = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(scope="module")
def usage_gateway(upstream: FakeUpstream) -> Iterator[str]:
    """The test gateway with one more route: `claude`, an `anthropic/` route (LiteLLM) to
    the fake upstream."""
    env = gateway_env(upstream.url)
    models = json.loads(env["GATEWAY_MODELS"])
    models["claude"] = {
        "model": "anthropic/claude-cached",
        "api_base": upstream.url,
        "api_key_env": "FAKE_PROVIDER_KEY",
    }
    with serve(Settings.from_env({**env, "GATEWAY_MODELS": json.dumps(models)})) as url:
        yield url


@pytest.fixture
def cached_upstream(upstream: FakeUpstream) -> None:
    """Both providers answer with the usage in `BILLED`, each in its own wire format."""
    direct = BILLED["direct"]
    openai_usage = {
        "prompt_tokens": direct.all_input,
        "completion_tokens": direct.output,
        "total_tokens": direct.all_input + direct.output,
        "prompt_tokens_details": {
            "cached_tokens": direct.cache_read,
            "cache_write_tokens": direct.cache_write,
        },
        "completion_tokens_details": {"reasoning_tokens": direct.reasoning},
    }
    upstream.scripts["scripted"] = fake.Script(
        steps=[
            fake.chunk({"role": "assistant", "content": "Hello"}),
            fake.chunk({}, "stop"),
            fake.chunk(usage=openai_usage),
        ]
    )
    claude = BILLED["claude"]
    anthropic_usage = {
        "input_tokens": claude.input,
        "cache_creation_input_tokens": claude.cache_write,
        "cache_read_input_tokens": claude.cache_read,
        "output_tokens": claude.output,
    }
    upstream.scripts["claude-cached"] = anthropic_script.text(["Hello"], anthropic_usage)


@pytest.fixture
def openai_client(usage_gateway: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=usage_gateway + "/v1", api_key=TENANT_KEY, max_retries=0)


@pytest.fixture
def anthropic_client(usage_gateway: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=usage_gateway, api_key=TENANT_KEY, max_retries=0)


ROUTES = pytest.mark.parametrize("route", list(BILLED))
STREAMED = pytest.mark.parametrize("stream", [True, False], ids=["streamed", "not streamed"])


@ROUTES
@STREAMED
@pytest.mark.usefixtures("cached_upstream")
def test_chat_counts_cache_reads_and_writes_inside_prompt_tokens_and_apart_in_its_details(
    openai_client: openai.OpenAI, route: str, stream: bool
) -> None:
    if stream:
        chunks = list(
            openai_client.chat.completions.create(
                model=route,
                messages=HELLO,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        usage = chunks[-1].usage
    else:
        usage = openai_client.chat.completions.create(model=route, messages=HELLO).usage

    billed = BILLED[route]
    assert usage is not None
    assert usage.prompt_tokens_details is not None
    assert usage.completion_tokens_details is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        billed.all_input,
        billed.output,
        billed.all_input + billed.output,
    )
    details = usage.prompt_tokens_details
    assert (details.cached_tokens, details.cache_write_tokens) == (
        billed.cache_read,
        billed.cache_write,
    )
    assert usage.completion_tokens_details.reasoning_tokens == billed.reasoning


@ROUTES
@STREAMED
@pytest.mark.usefixtures("cached_upstream")
def test_responses_counts_cache_reads_and_writes_inside_input_tokens_and_apart_in_its_details(
    openai_client: openai.OpenAI, route: str, stream: bool
) -> None:
    if stream:
        with openai_client.responses.stream(model=route, input="Say hello") as events:
            usage = events.get_final_response().usage
    else:
        usage = openai_client.responses.create(model=route, input="Say hello").usage

    billed = BILLED[route]
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (
        billed.all_input,
        billed.output,
        billed.all_input + billed.output,
    )
    details = usage.input_tokens_details
    assert (details.cached_tokens, details.cache_write_tokens) == (
        billed.cache_read,
        billed.cache_write,
    )
    assert usage.output_tokens_details.reasoning_tokens == billed.reasoning


@pytest.mark.parametrize("route", [r for r in BILLED if r != "claude"])
@STREAMED
@pytest.mark.usefixtures("cached_upstream")
def test_messages_counts_only_the_uncached_rest_as_input_tokens(
    anthropic_client: anthropic.Anthropic, route: str, stream: bool
) -> None:
    """(On an `anthropic/` route the Messages door passes the provider's own usage through:
    tests/integration/test_messages_native.py.)"""
    if stream:
        with anthropic_client.messages.stream(
            model=route,
            max_tokens=64,
            messages=HELLO,
        ) as events:
            usage = events.get_final_message().usage
    else:
        message = anthropic_client.messages.create(model=route, max_tokens=64, messages=HELLO)
        usage = message.usage

    billed = BILLED[route]
    assert (
        usage.input_tokens,
        usage.cache_read_input_tokens,
        usage.cache_creation_input_tokens,
        usage.output_tokens,
    ) == (billed.input, billed.cache_read, billed.cache_write, billed.output)
    assert usage.output_tokens_details is not None
    assert usage.output_tokens_details.thinking_tokens == billed.reasoning


DOORS = {
    "chat.completions": ("/v1/chat/completions", {"messages": HELLO}),
    "responses": ("/v1/responses", {"input": "Say hello"}),
    "messages": ("/v1/messages", {"messages": HELLO, "max_tokens": 64}),
}


@ROUTES
@pytest.mark.parametrize("door", list(DOORS))
@pytest.mark.usefixtures("cached_upstream")
def test_the_request_log_and_the_emf_record_carry_the_four_counts(
    usage_gateway: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    route: str,
    door: str,
) -> None:
    path, body = DOORS[door]
    capsys.readouterr()

    response = httpx.post(
        usage_gateway + path,
        headers={"authorization": f"Bearer {TENANT_KEY}"},
        json={"model": route, "stream": True, **body},
    )
    response.read()
    _, [line] = read_log(caplog, door)

    billed = BILLED[route]
    counts = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")
    assert [line[name] for name in counts] == [
        billed.input,
        billed.cache_read,
        billed.cache_write,
        billed.output,
    ]
    [record] = emf_records(capsys.readouterr().out)
    metrics = ("InputTokens", "CacheReadTokens", "CacheWriteTokens", "OutputTokens")
    assert [_metric(record, name) for name in metrics] == [
        billed.input,
        billed.cache_read,
        billed.cache_write,
        billed.output,
    ]


def _metric(record: dict[str, Any], name: str) -> float:
    declared = {
        m["Name"]: m["Unit"] for d in record["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]
    }
    assert declared[name] == "Count"
    [value] = record[name]
    return float(value)
