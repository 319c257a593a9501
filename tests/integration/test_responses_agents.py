"""Agent frameworks whose default OpenAI path is the Responses API, against the gateway.

The OpenAI Agents SDK (`set_default_openai_client`, `Agent`, `Runner`) and pydantic-ai
(`Agent("openai:<model>")` configured by `OPENAI_BASE_URL`) each run a tool loop over
two turns, streamed and not, on both provider paths; their errors are the ones each
framework raises for OpenAI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import agents
import openai
import pydantic_ai
import pytest
from pydantic_ai.exceptions import ModelAPIError, ModelHTTPError
from pydantic_ai.models.openai import OpenAIResponsesModel
from pydantic_ai.providers.openai import OpenAIProvider

from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY

ROUTES = ["direct", "via-litellm"]
QUESTION = "Weather in Paris?"


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@pytest.fixture(autouse=True)
def _weather_then_answer(upstream: FakeUpstream) -> None:
    upstream.scripts["scripted"] = [
        fake.tool_call("get_weather", '{"city": "Paris"}'),
        fake.text(["Sunny", " in Paris"]),
    ]


def assert_tool_result_reached_the_provider(upstream: FakeUpstream) -> None:
    first, second = upstream.requests
    assert first.body["tools"][0]["function"]["name"] == "get_weather"
    tool_messages = [m for m in second.body["messages"] if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["content"]) for m in tool_messages] == [
        ("call_1", "sunny in Paris")
    ]


# The OpenAI Agents SDK.


@pytest.fixture
def gateway_client(gateway_url: str) -> Iterator[None]:
    agents.set_tracing_disabled(True)
    agents.set_default_openai_client(
        openai.AsyncOpenAI(base_url=gateway_url + "/v1", api_key=TENANT_KEY, max_retries=0),
        use_for_tracing=False,
    )
    return


def weather_agent(model: str) -> agents.Agent[Any]:
    return agents.Agent(
        name="forecaster",
        instructions="Answer with the weather.",
        model=model,
        tools=[agents.function_tool(get_weather)],
    )


@pytest.mark.parametrize("model", ROUTES)
def test_agents_runner_run_with_a_tool(
    gateway_client: None, upstream: FakeUpstream, model: str
) -> None:
    result = asyncio.run(agents.Runner.run(weather_agent(model), QUESTION))

    assert result.final_output == "Sunny in Paris"
    assert_tool_result_reached_the_provider(upstream)
    assert upstream.requests[0].body["messages"][0] == {
        "role": "system",
        "content": "Answer with the weather.",
    }


@pytest.mark.parametrize("model", ROUTES)
def test_agents_runner_run_streamed_with_a_tool(
    gateway_client: None, upstream: FakeUpstream, model: str
) -> None:
    async def run() -> tuple[Any, list[str]]:
        result = agents.Runner.run_streamed(weather_agent(model), QUESTION)
        deltas = [
            event.data.delta
            async for event in result.stream_events()
            if event.type == "raw_response_event"
            and event.data.type == "response.output_text.delta"
        ]
        return result.final_output, deltas

    final_output, deltas = asyncio.run(run())

    assert final_output == "Sunny in Paris"
    assert deltas == ["Sunny", " in Paris"]
    assert_tool_result_reached_the_provider(upstream)


@pytest.mark.parametrize(
    ("model", "script", "error"),
    [
        ("no-such-model", None, openai.NotFoundError),
        ("direct", fake.error(429, "Slow down"), openai.RateLimitError),
        ("via-litellm", fake.error(429, "Slow down"), openai.RateLimitError),
    ],
)
def test_agents_raise_openai_errors(
    gateway_client: None,
    upstream: FakeUpstream,
    model: str,
    script: fake.Script | None,
    error: type[Exception],
) -> None:
    if script is not None:
        upstream.scripts["scripted"] = script

    with pytest.raises(error):
        asyncio.run(agents.Runner.run(weather_agent(model), QUESTION))


def test_agents_raise_authentication_errors(gateway_url: str) -> None:
    agents.set_default_openai_client(
        openai.AsyncOpenAI(base_url=gateway_url + "/v1", api_key="sk-nobody", max_retries=0),
        use_for_tracing=False,
    )

    with pytest.raises(openai.AuthenticationError):
        asyncio.run(agents.Runner.run(weather_agent("direct"), QUESTION))


@pytest.mark.parametrize("model", ROUTES)
def test_agents_raise_when_the_stream_breaks_off(
    gateway_client: None, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Half"], ending="close", with_usage=False)

    async def run() -> None:
        result = agents.Runner.run_streamed(weather_agent(model), QUESTION)
        async for _ in result.stream_events():
            pass

    with pytest.raises(agents.ModelBehaviorError, match="failed"):
        asyncio.run(run())


# pydantic-ai: `openai:` models use the Responses API.


@pytest.fixture
def openai_env(gateway_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", gateway_url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", TENANT_KEY)


def pydantic_agent(model: str | OpenAIResponsesModel) -> pydantic_ai.Agent[None, str]:
    agent = pydantic_ai.Agent(
        f"openai:{model}" if isinstance(model, str) else model,
        instructions="Answer with the weather.",
    )
    agent.tool_plain(get_weather)
    return agent


@pytest.mark.parametrize("model", ROUTES)
def test_pydantic_ai_runs_a_tool_loop(openai_env: None, upstream: FakeUpstream, model: str) -> None:
    result = pydantic_agent(model).run_sync(QUESTION)

    assert result.output == "Sunny in Paris"
    assert result.usage.input_tokens == 10
    assert_tool_result_reached_the_provider(upstream)


@pytest.mark.parametrize("model", ROUTES)
def test_pydantic_ai_streams_a_tool_loop(
    openai_env: None, upstream: FakeUpstream, model: str
) -> None:
    async def run() -> list[str]:
        async with pydantic_agent(model).run_stream(QUESTION) as result:
            return [text async for text in result.stream_text(delta=True)]

    deltas = asyncio.run(run())

    assert "".join(deltas) == "Sunny in Paris"
    assert_tool_result_reached_the_provider(upstream)


def pinned_model(url: str, model: str, key: str = TENANT_KEY) -> OpenAIResponsesModel:
    """An `openai:` model whose client does not retry, so errors come at once."""
    client = openai.AsyncOpenAI(base_url=url + "/v1", api_key=key, max_retries=0)
    return OpenAIResponsesModel(model, provider=OpenAIProvider(openai_client=client))


@pytest.mark.parametrize(
    ("model", "key", "script", "status"),
    [
        ("direct", "sk-nobody", None, 401),
        ("no-such-model", TENANT_KEY, None, 404),
        ("direct", TENANT_KEY, fake.error(429, "Slow down"), 429),
        ("via-litellm", TENANT_KEY, fake.error(429, "Slow down"), 429),
    ],
)
def test_pydantic_ai_raises_http_errors(
    gateway_url: str,
    upstream: FakeUpstream,
    model: str,
    key: str,
    script: fake.Script | None,
    status: int,
) -> None:
    if script is not None:
        upstream.scripts["scripted"] = script

    with pytest.raises(ModelHTTPError) as raised:
        pydantic_agent(pinned_model(gateway_url, model, key)).run_sync(QUESTION)

    assert raised.value.status_code == status


@pytest.mark.parametrize("model", ROUTES)
def test_pydantic_ai_raises_when_the_stream_breaks_off(
    gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Half"], ending="close", with_usage=False)

    async def run() -> None:
        async with pydantic_agent(pinned_model(gateway_url, model)).run_stream(QUESTION) as result:
            await result.get_output()

    with pytest.raises(ModelAPIError, match="provider"):
        asyncio.run(run())
