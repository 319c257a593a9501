"""Stored responses: `previous_response_id` and `GET /v1/responses/{id}`, per tenant.

Responses are kept in one of the response cache's stores (`GATEWAY_RESPONSES_STORE_URL`,
here `memory://`; by default the SQLite file in the temp directory); with the store
turned off a follow-up is a clear 400 and nothing can be retrieved.
"""

from __future__ import annotations

import sqlite3
import tempfile
import zlib
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from gateway.config import Settings
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import OTHER_TENANT_KEY, TENANT_KEY, gateway_env
from tests.support.servers import serve

ROUTES = ["direct", "via-litellm"]
WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}


def test_without_a_store_a_follow_up_is_a_400_and_nothing_is_retrievable(
    upstream: FakeUpstream,
) -> None:
    env = gateway_env(upstream.url, GATEWAY_RESPONSES_STORE_URL="off")
    with serve(Settings.from_env(env)) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key=TENANT_KEY, max_retries=0)
        first = client.responses.create(model="direct", input="Hi")

        with pytest.raises(openai.BadRequestError) as follow_up:
            client.responses.create(model="direct", input="Again", previous_response_id=first.id)
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(first.id)

    assert follow_up.value.param == "previous_response_id"
    assert "keeps none" in follow_up.value.message
    assert len(upstream.requests) == 1


@pytest.fixture(scope="module")
def stored_url(upstream: FakeUpstream) -> Iterator[str]:
    env = gateway_env(upstream.url, GATEWAY_RESPONSES_STORE_URL="memory://")
    with serve(Settings.from_env(env)) as url:
        yield url


@pytest.fixture
def stored(stored_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=stored_url + "/v1", api_key=TENANT_KEY, max_retries=0)


def create(client: openai.OpenAI, stream: bool, **request: Any) -> Any:
    if not stream:
        return client.responses.create(**request)
    with client.responses.stream(**request) as events:
        return events.get_final_response()


@pytest.mark.parametrize("model", ROUTES)
@pytest.mark.parametrize("stream", [True, False])
def test_previous_response_id_sends_the_whole_conversation(
    stored: openai.OpenAI, upstream: FakeUpstream, model: str, stream: bool
) -> None:
    upstream.scripts["scripted"] = [fake.text(["Hello", " Ada"]), fake.text(["Ada"])]

    first = create(stored, stream, model=model, input="My name is Ada", instructions="Be kind.")
    second = create(
        stored, stream, model=model, input="What is my name?", previous_response_id=first.id
    )
    third = create(stored, stream, model=model, input="Thanks", previous_response_id=second.id)

    assert second.output_text == "Ada"
    assert second.previous_response_id == first.id
    assert third.previous_response_id == second.id
    assert [(m["role"], m["content"]) for m in upstream.last().body["messages"]] == [
        ("user", "My name is Ada"),  # instructions are not carried over, as with OpenAI
        ("assistant", "Hello Ada"),
        ("user", "What is my name?"),
        ("assistant", "Ada"),
        ("user", "Thanks"),
    ]


@pytest.mark.parametrize("model", ROUTES)
def test_a_tool_loop_can_continue_from_the_previous_response(
    stored: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = [
        fake.tool_call("get_weather", '{"city": "Paris"}'),
        fake.text(["Sunny"]),
    ]

    first = create(stored, True, model=model, input="Weather?", tools=[WEATHER])
    output = {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}
    second = create(
        stored, True, model=model, input=[output], tools=[WEATHER], previous_response_id=first.id
    )

    assert second.output_text == "Sunny"
    messages = upstream.last().body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    assert messages[1]["tool_calls"][0]["id"] == "call_1"
    assert messages[2]["tool_call_id"] == "call_1"


@pytest.mark.parametrize("stream", [True, False])
def test_a_stored_response_is_retrievable_at_once_by_its_tenant_only(
    stored: openai.OpenAI, stored_url: str, stream: bool
) -> None:
    created = create(stored, stream, model="direct", input="Hi", metadata={"run": "1"})

    retrieved = stored.responses.retrieve(created.id)

    assert retrieved.id == created.id
    assert retrieved.output_text == created.output_text == "Hello world"
    assert retrieved.metadata == {"run": "1"}
    assert retrieved.usage == created.usage
    other = openai.OpenAI(base_url=stored_url + "/v1", api_key=OTHER_TENANT_KEY, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(created.id)
    with pytest.raises(openai.BadRequestError) as follow_up:
        other.responses.create(model="echo", input="x", previous_response_id=created.id)
    assert follow_up.value.code == "previous_response_not_found"


@pytest.mark.parametrize("stream", [True, False])
def test_store_false_responses_are_never_kept(stored: openai.OpenAI, stream: bool) -> None:
    created = create(stored, stream, model="direct", input="Hi", store=False)

    with pytest.raises(openai.NotFoundError):
        stored.responses.retrieve(created.id)
    with pytest.raises(openai.BadRequestError) as follow_up:
        stored.responses.create(model="direct", input="x", previous_response_id=created.id)
    assert follow_up.value.code == "previous_response_not_found"


def test_a_failed_stream_is_not_kept(stored: openai.OpenAI, upstream: FakeUpstream) -> None:
    upstream.scripts["scripted"] = fake.text(["Half"], ending="close", with_usage=False)

    events = list(stored.responses.create(model="direct", input="Hi", stream=True))

    assert events[-1].type == "response.failed"
    with pytest.raises(openai.NotFoundError):
        stored.responses.retrieve(events[-1].response.id)


@pytest.mark.parametrize(
    "damage",
    [
        b"not zlib",
        zlib.compress(b'{"v":1,"response":{}}')[:-3],
        zlib.compress(b'{"v":1,"response":{},"input":[]}'),
    ],
    ids=["garbage", "truncated", "no output"],
)
def test_a_damaged_record_is_not_found_never_a_500(upstream: FakeUpstream, damage: bytes) -> None:
    """A store's bytes are trusted no further than the cache trusts its entries."""
    file = tempfile.NamedTemporaryFile(suffix=".sqlite3")  # noqa: SIM115
    env = gateway_env(upstream.url, GATEWAY_RESPONSES_STORE_URL=f"sqlite://{file.name}")
    with serve(Settings.from_env(env)) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key=TENANT_KEY, max_retries=0)
        first = client.responses.create(model="direct", input="Hi")
        with sqlite3.connect(file.name) as db:
            changed = db.execute("UPDATE entries SET data = ?", (damage,)).rowcount

        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(first.id)
        with pytest.raises(openai.BadRequestError) as follow_up:
            client.responses.create(model="direct", input="Again", previous_response_id=first.id)

    assert changed == 1
    assert follow_up.value.code == "previous_response_not_found"
