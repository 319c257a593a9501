"""`stream: false`: the one `chat.completion` built from a provider's chunks (collected by
`aggregate`, rendered by the chat door), and the limits that apply while they are
collected."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.aggregate import CompletionBuilder, collect
from gateway.core.chunks import Chunk, Usage
from gateway.doors.base import Reply
from gateway.doors.chat import chat_completion
from gateway.errors import DEADLINE_MESSAGE, UpstreamFailed, UpstreamTimeout, idle_message
from tests.unit.fed_stream import FedStream, text_chunk

USAGE: Usage = {
    "input_tokens": 3,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "output_tokens": 4,
}
CHAT_USAGE = {
    "prompt_tokens": 3,
    "completion_tokens": 4,
    "total_tokens": 7,
    "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
}
"""`USAGE` as the chat door shows it."""


def choice(finish: str | None = None, logprobs: Any = None, **delta: Any) -> Chunk:
    entry: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
    if logprobs is not None:
        entry["logprobs"] = logprobs
    return {"choices": [entry]}


def build(*chunks: Chunk) -> dict[str, Any]:
    builder = CompletionBuilder()
    for chunk in chunks:
        builder.add(chunk)
    return chat_completion(builder, Reply("chatcmpl-1", 1700000000, "public-model"))


def test_the_completion_has_the_replys_identity_and_one_choice() -> None:
    completion = build(choice(role="assistant", content="Hi"), choice("stop"))

    assert {k: completion[k] for k in ("id", "object", "created", "model")} == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "public-model",
    }
    assert completion["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi"},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    assert completion["usage"] is None


def test_text_fields_are_joined_and_present_only_when_sent() -> None:
    completion = build(
        choice(reasoning_content="Let me"),
        choice(reasoning_content=" think."),
        choice(content="4"),
        choice(content="2", finish="stop"),
    )

    message = completion["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "42", "reasoning_content": "Let me think."}


def test_a_refusal_without_content_has_null_content() -> None:
    message = build(choice(refusal="I can't"), choice(refusal=" help."))["choices"][0]["message"]

    assert message == {"role": "assistant", "content": None, "refusal": "I can't help."}


def test_tool_call_fragments_assemble_by_index_even_interleaved() -> None:
    completion = build(
        choice(
            content=None,
            tool_calls=[
                {"index": 1, "id": "call_b", "type": "function", "function": {"name": "two"}},
                {"index": 0, "id": "call_a", "function": {"name": "one", "arguments": ""}},
            ],
        ),
        choice(tool_calls=[{"index": 0, "function": {"arguments": '{"a":'}}]),
        choice(tool_calls=[{"index": 1, "function": {"arguments": '{"b": 2}'}}]),
        choice(tool_calls=[{"index": 0, "function": {"arguments": " 1}"}}]),
        choice("tool_calls"),
    )

    message = completion["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {"id": "call_a", "type": "function", "function": {"name": "one", "arguments": '{"a": 1}'}},
        {"id": "call_b", "type": "function", "function": {"name": "two", "arguments": '{"b": 2}'}},
    ]
    assert completion["choices"][0]["finish_reason"] == "tool_calls"


def test_logprobs_content_is_concatenated_across_chunks() -> None:
    first = [{"token": "4", "logprob": -0.1, "bytes": [52], "top_logprobs": []}]
    second = [{"token": "2", "logprob": -0.2, "bytes": [50], "top_logprobs": []}]

    completion = build(
        choice(content="4", logprobs={"content": first}),
        choice(content="2", logprobs={"content": second}, finish="stop"),
    )

    assert completion["choices"][0]["logprobs"] == {"content": first + second}


@pytest.mark.parametrize(("sent", "expected"), [(None, "stop"), ("length", "length")])
def test_finish_reason_defaults_to_stop(sent: str | None, expected: str) -> None:
    completion = build(choice(content="x"), choice(sent))

    assert completion["choices"][0]["finish_reason"] == expected


def test_usage_and_system_fingerprint_reach_the_top_level() -> None:
    completion = build(
        {**choice(content="x"), "system_fingerprint": "fp_1"},
        choice("stop"),
        {"choices": [], "usage": USAGE},
    )

    assert completion["usage"] == CHAT_USAGE
    assert completion["system_fingerprint"] == "fp_1"


def test_a_null_usage_on_a_later_chunk_does_not_erase_the_reported_one() -> None:
    completion = build({"choices": [], "usage": USAGE}, {**choice("stop"), "usage": None})

    assert completion["usage"] == CHAT_USAGE


def collect_with(
    *chunks: Chunk,
    end: bool = True,
    error: BaseException | None = None,
    idle_timeout: float = 30.0,
    seconds_left: float = 30.0,
) -> tuple[CompletionBuilder | BaseException, FedStream]:
    """Run `collect` over a stream fed with `chunks`; its result or what it raised."""
    holder: list[FedStream] = []

    async def main() -> CompletionBuilder:
        stream = FedStream(*chunks)
        holder.append(stream)
        if error is not None:
            stream.fail(error)
        elif end:
            stream.end()
        deadline = asyncio.get_running_loop().time() + seconds_left
        return await collect(stream, idle_timeout, deadline)

    try:
        result: CompletionBuilder | BaseException = asyncio.run(
            asyncio.wait_for(main(), timeout=10)
        )
    except Exception as raised:
        result = raised
    return result, holder[0]


def test_collect_reads_to_the_end_and_closes_the_stream() -> None:
    result, stream = collect_with(text_chunk("Hel"), text_chunk("lo", finish="stop"))

    assert isinstance(result, CompletionBuilder)
    assert result.message()["content"] == "Hello"
    assert stream.closed.is_set()


def test_a_silent_provider_ends_collection_with_the_idle_timeout() -> None:
    result, stream = collect_with(text_chunk("x"), end=False, idle_timeout=0.05)

    assert isinstance(result, UpstreamTimeout)
    assert result.message == idle_message(0.05)
    assert stream.closed.is_set()


def test_the_deadline_ends_collection_even_while_chunks_flow() -> None:
    async def main() -> tuple[BaseException | None, FedStream]:
        loop = asyncio.get_running_loop()
        stream = FedStream()

        async def feed() -> None:
            while not stream.closed.is_set():
                stream.put(text_chunk("more "))
                await asyncio.sleep(0.005)

        feeder = asyncio.create_task(feed())
        try:
            await collect(stream, 30.0, loop.time() + 0.1)
        except UpstreamTimeout as error:
            return error, stream
        finally:
            feeder.cancel()
        return None, stream

    error, stream = asyncio.run(asyncio.wait_for(main(), timeout=10))

    assert error is not None
    assert str(error) == DEADLINE_MESSAGE
    assert len(stream.handed_at) > 1
    assert stream.closed.is_set()


def test_a_provider_failure_propagates_and_the_stream_is_closed() -> None:
    failure = UpstreamFailed("The provider's stream broke off before it was complete.")

    result, stream = collect_with(text_chunk("x"), error=failure)

    assert result is failure
    assert stream.closed.is_set()


class _EarlyTimersLoop(asyncio.SelectorEventLoop):
    """Fires timers 2 ms early, as uvloop's millisecond timers may."""

    def call_at(self, when: float, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        return super().call_at(when - 0.002, *args, **kwargs)


def test_a_deadline_timer_that_fires_early_is_still_the_deadline() -> None:
    async def main() -> BaseException | None:
        deadline = asyncio.get_running_loop().time() + 0.05
        try:
            await collect(FedStream(text_chunk("x")), 30.0, deadline)
        except UpstreamTimeout as error:
            return error
        return None

    loop = _EarlyTimersLoop()
    try:
        error = loop.run_until_complete(asyncio.wait_for(main(), timeout=10))
    finally:
        loop.close()

    assert str(error) == DEADLINE_MESSAGE
