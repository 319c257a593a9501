"""On LiteLLM's OpenAI-style routes the `openai` SDK parses the provider's stream: each
chunk is validated by pydantic (a few µs) rather than built by the SDK's field-by-field
`construct_type` (about 60 µs a chunk), and a chunk that does not validate is still built
as the SDK always built it, so nothing a provider sends is lost or turned into an error."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.core.usage import NO_USAGE
from gateway.providers.litellm_provider import _litellm
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.litellm_stream import stream_through_litellm


@pytest.fixture
def constructed(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The chunks built with the SDK's `construct_type` (as the SDK's client refers to it,
    and as its module does)."""
    _litellm()
    import openai._base_client
    import openai._models
    from openai.types.chat import ChatCompletionChunk

    built: list[object] = []
    construct = openai._models.construct_type

    def counting(*, value: object, type_: object, **kwargs: Any) -> object:
        if type_ is ChatCompletionChunk:
            built.append(value)
        return construct(value=value, type_=type_, **kwargs)

    monkeypatch.setattr(openai._base_client, "construct_type", counting)
    monkeypatch.setattr(openai._models, "construct_type", counting)
    return built


def test_well_formed_chunks_are_validated_not_constructed(
    upstream: FakeUpstream, constructed: list[object]
) -> None:
    text, usage = stream_through_litellm(upstream, fake.text(["Hello", " world"]))

    assert text == "Hello world"
    assert usage == {**NO_USAGE, "input_tokens": 5, "output_tokens": 7}
    assert constructed == []


def test_a_chunk_that_does_not_validate_is_built_as_the_sdk_builds_it(
    upstream: FakeUpstream, constructed: list[object]
) -> None:
    odd = fake.chunk({"content": " world"}, object="chat.completion")  # not "...chunk"
    script = fake.Script(
        steps=[
            fake.chunk({"role": "assistant", "content": "Hello"}),
            odd,
            fake.chunk({}, "stop"),
            fake.usage(),
        ]
    )

    text, usage = stream_through_litellm(upstream, script)

    assert text == "Hello world"
    assert usage == {**NO_USAGE, "input_tokens": 5, "output_tokens": 7}
    assert [value["object"] for value in constructed] == ["chat.completion"]  # type: ignore[index]
