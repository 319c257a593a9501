"""The input bound a reservation is made of, on chat bodies and on Messages bodies as a
client sends them to a native route."""

from __future__ import annotations

import orjson

from gateway.limits.estimate import IMAGE_TOKEN_BOUND, input_token_bound

IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}}


def test_messages_tool_and_thinking_blocks_are_text_and_an_image_in_a_tool_result_is_not() -> None:
    body = {
        "model": "claude",
        "max_tokens": 10,
        "system": "terse",
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hm", "signature": "c2ln"},
                    {"type": "tool_use", "id": "t1", "name": "Read", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [IMAGE]}],
            },
        ],
    }

    assert input_token_bound(body) == len(orjson.dumps(body)) + IMAGE_TOKEN_BOUND


def test_a_chat_image_part_counts_and_malformed_messages_count_only_their_bytes() -> None:
    chat = {"messages": [{"role": "user", "content": [{"type": "image_url"}, {"type": "text"}]}]}
    malformed = {"messages": ["x", {"content": [1, "y"]}, {"content": "z"}]}

    assert input_token_bound(chat) == len(orjson.dumps(chat)) + IMAGE_TOKEN_BOUND
    assert input_token_bound(malformed) == len(orjson.dumps(malformed))
    assert input_token_bound({"model": "claude"}) == len(b'{"model":"claude"}')
