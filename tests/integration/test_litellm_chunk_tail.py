"""LiteLLM's stream wrapper keeps every chunk of a stream; the gateway's `ChunkTail` keeps
only those it looks at: a stream's memory does not grow with its length, and LiteLLM's
guard against a model repeating itself (it compares the last two chunks) still works."""

from __future__ import annotations

import gc
import json

import httpx

from gateway.providers.litellm_internals import ChunkTail
from gateway.providers.litellm_provider import _litellm
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY
from tests.support.litellm_stream import stream_through_litellm


def test_a_long_stream_leaves_litellm_holding_a_handful_of_chunks(upstream: FakeUpstream) -> None:
    _litellm()  # first: it configures LiteLLM before LiteLLM's import reads its settings
    from litellm.types.utils import ModelResponseStream

    words = [f" w{n}" for n in range(10_000)]
    held: list[int] = []

    def count_held() -> None:
        held.append(sum(isinstance(o, ModelResponseStream) for o in gc.get_objects()))

    text, usage = stream_through_litellm(upstream, fake.text(words), at_end=count_held)

    assert text == "".join(words)
    assert usage == {
        "input_tokens": 5,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "output_tokens": 7,
    }
    assert held[0] <= 5  # of 10,003 chunks


def test_a_repeating_stream_still_trips_litellm_s_repetition_guard(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    limit = _litellm().REPEATED_STREAMING_CHUNK_LIMIT
    upstream.scripts["scripted"] = fake.text(["again"] * (limit + 50))

    response = httpx.post(
        f"{gateway_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {TENANT_KEY}"},
        json={
            "model": "via-litellm",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
        },
        timeout=60,
    )

    events = response.content.removesuffix(b"\n\n").split(b"\n\n")
    assert response.status_code == 200
    assert response.content.count(b'"content":"again"') <= limit
    last = json.loads(events[-1].removeprefix(b"data: "))
    assert last["error"]["code"] == "upstream_error"


class Chunk:
    """Shaped like LiteLLM's chunks for `ChunkTail`: its fields in `__dict__`."""

    def __init__(self, n: int, usage: dict[str, int] | None = None) -> None:
        self.n = n
        self.usage = usage


def test_the_tail_keeps_the_first_chunk_those_with_usage_and_the_last_two() -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
    tail = ChunkTail([Chunk(0)])
    for n in range(1, 10_000):
        tail.append(Chunk(n, usage if n == 5_000 else None))

    assert [chunk.n for chunk in tail] == [0, 5_000, 9_998, 9_999]
    assert tail.reported_usage == usage
