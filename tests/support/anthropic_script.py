"""Scripts for the fake upstream in Anthropic's Messages wire format, for `anthropic/`
routes pointed at it (the fake serves any path; it picks the script by the body's `model`,
which LiteLLM sends without the `anthropic/` prefix)."""

from __future__ import annotations

import json
from typing import Any

from tests.support.fake_upstream import Script


def event(data: dict[str, Any]) -> bytes:
    """One server-sent event as Anthropic sends it: an `event:` line equal to its `type`."""
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def text(words: list[str], usage: dict[str, int]) -> Script:
    """A text answer streamed as Anthropic streams it: `usage` (Anthropic's fields) in
    `message_start`, and again, with the final `output_tokens`, in `message_delta` (as the
    API reports totals there)."""
    start = {**usage, "output_tokens": 1}
    message = {"id": "msg_upstream", "type": "message", "role": "assistant", "content": []}
    message |= {"model": "upstream", "stop_reason": None, "stop_sequence": None, "usage": start}
    steps = [
        event({"type": "message_start", "message": message}),
        event(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            }
        ),
        event({"type": "ping"}),
    ]
    for word in words:
        delta = {"type": "text_delta", "text": word}
        steps.append(event({"type": "content_block_delta", "index": 0, "delta": delta}))
    steps += [
        event({"type": "content_block_stop", "index": 0}),
        event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": usage,
            }
        ),
        event({"type": "message_stop"}),
    ]
    return Script(steps=steps, ending="eof")
