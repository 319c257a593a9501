"""The chat door's stream format: the bytes a client reads, whatever the provider sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.core.chunks import Chunk, Usage
from gateway.doors.base import Reply
from gateway.doors.chat import ChunkFramer
from gateway.errors import UpstreamFailed, UpstreamTimeout

REPLY = Reply(id="chatcmpl-abc", created=1700000000, model="gpt-public")
USAGE: Usage = {
    "input_tokens": 1,
    "cache_read_tokens": 2,
    "cache_write_tokens": 0,
    "output_tokens": 4,
}
CHAT_USAGE = {
    "prompt_tokens": 3,
    "completion_tokens": 4,
    "total_tokens": 7,
    "prompt_tokens_details": {"cached_tokens": 2, "cache_write_tokens": 0},
}
"""`USAGE` as the chat door shows it."""
HEAD = b'data: {"id":"chatcmpl-abc","object":"chat.completion.chunk","created":1700000000,'


def delta(finish: str | None = None, **fields: Any) -> Chunk:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": finish}]}


def stream(chunks: list[Chunk], include_usage: bool = False) -> tuple[bytes, ChunkFramer]:
    """Every byte the framer writes for `chunks`, ending included."""
    framer = ChunkFramer(REPLY, include_usage)
    out = b"".join(framer.frame(chunk) or b"" for chunk in chunks)
    return out + framer.ending(), framer


def events(raw: bytes) -> list[Any]:
    """The decoded `data:` payloads; `[DONE]` stays a string."""
    assert raw.endswith(b"\n\n")
    payloads = []
    for event in raw[:-2].split(b"\n\n"):
        assert event.startswith(b"data: ")
        assert b"\n" not in event
        body = event.removeprefix(b"data: ")
        payloads.append("[DONE]" if body == b"[DONE]" else json.loads(body))
    return payloads


def test_every_event_carries_the_replys_identity_first() -> None:
    raw, _ = stream([delta(content="Hi"), delta("stop")])

    chunks = events(raw)[:-1]
    assert all(event.startswith(HEAD) for event in raw.split(b"\n\n")[:-2])
    for chunk in chunks:
        assert list(chunk)[:4] == ["id", "object", "created", "model"]
        assert (chunk["id"], chunk["model"]) == ("chatcmpl-abc", "gpt-public")


def test_the_first_delta_gets_the_assistant_role_and_only_the_first() -> None:
    raw, _ = stream([delta(content="Hel"), delta(content="lo"), delta("stop")])

    deltas = [c["choices"][0]["delta"] for c in events(raw)[:-1]]
    assert deltas == [{"content": "Hel", "role": "assistant"}, {"content": "lo"}, {}]


def test_a_role_the_provider_sent_is_kept() -> None:
    raw, _ = stream([delta(role="assistant", content=""), delta(content="x"), delta("stop")])

    first = events(raw)[0]["choices"][0]["delta"]
    assert first == {"role": "assistant", "content": ""}


def test_a_provider_finish_reason_is_passed_on_and_none_is_added() -> None:
    raw, framer = stream([delta(content="x"), delta("length")])

    chunks = events(raw)[:-1]
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None, "length"]
    assert framer.finish_reason == "length"


def test_a_missing_finish_reason_is_synthesised_as_stop_before_done() -> None:
    raw, framer = stream([delta(content="x")])

    payloads = events(raw)
    assert payloads[-1] == "[DONE]"
    assert payloads[-2]["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert framer.chunks == 2


def test_an_empty_stream_still_ends_with_role_finish_reason_and_done() -> None:
    raw, _ = stream([])

    payloads = events(raw)
    assert payloads[0]["choices"] == [
        {"index": 0, "delta": {"role": "assistant"}, "finish_reason": "stop"}
    ]
    assert payloads[1:] == ["[DONE]"]


def test_with_include_usage_usage_is_null_until_its_own_final_chunk() -> None:
    upstream_usage = {"choices": [], "usage": USAGE}

    raw, framer = stream([delta(content="x"), delta("stop"), upstream_usage], include_usage=True)

    payloads = events(raw)
    assert payloads[-1] == "[DONE]"
    assert [c["usage"] for c in payloads[:-2]] == [None, None]
    assert payloads[-2]["choices"] == []
    assert payloads[-2]["usage"] == CHAT_USAGE
    assert payloads[-2]["id"] == "chatcmpl-abc"
    assert framer.usage == USAGE


def test_usage_riding_on_a_content_chunk_is_held_for_the_end() -> None:
    riding = {**delta("stop", content="x"), "usage": USAGE}

    raw, _ = stream([riding], include_usage=True)

    payloads = events(raw)
    assert payloads[0]["usage"] is None
    assert payloads[0]["choices"][0]["delta"]["content"] == "x"
    assert (payloads[1]["choices"], payloads[1]["usage"]) == ([], CHAT_USAGE)
    assert payloads[2] == "[DONE]"


def test_without_include_usage_no_usage_reaches_the_client_but_the_log_has_it() -> None:
    raw, framer = stream(
        [{**delta("stop", content="x"), "usage": USAGE}, {"choices": [], "usage": USAGE}]
    )

    payloads = events(raw)
    assert all("usage" not in c for c in payloads[:-1])
    assert len(payloads) == 2
    assert framer.usage == USAGE


def test_include_usage_without_provider_usage_sends_no_usage_chunk() -> None:
    raw, _ = stream([delta("stop", content="x")], include_usage=True)

    payloads = events(raw)
    assert len(payloads) == 2
    assert payloads[0]["choices"][0]["finish_reason"] == "stop"


def test_a_usage_only_chunk_is_not_an_event() -> None:
    framer = ChunkFramer(REPLY, include_usage=True)

    assert framer.frame({"choices": [], "usage": USAGE}) is None
    assert framer.chunks == 0


@pytest.mark.parametrize(
    "error",
    [UpstreamFailed("The provider broke off."), UpstreamTimeout("Gateway timeout: late.")],
)
def test_the_error_event_is_openais_error_body_as_one_data_event(
    error: UpstreamFailed | UpstreamTimeout,
) -> None:
    framer = ChunkFramer(REPLY, include_usage=True)
    framer.frame(delta(content="partial"))

    raw = framer.error(error)

    expected = {
        "error": {"message": error.message, "type": "api_error", "param": None, "code": error.code}
    }
    assert raw == b"data: " + json.dumps(expected, separators=(",", ":")).encode() + b"\n\n"
    assert b"[DONE]" not in raw


def test_the_keepalive_is_an_sse_comment() -> None:
    assert ChunkFramer(REPLY, include_usage=False).keepalive == b": keep-alive\n\n"
