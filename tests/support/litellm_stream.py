"""One stream read through the LiteLLM provider in-process, against the fake upstream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from gateway.config import ModelRoute, Secret
from gateway.providers.base import UpstreamRequest
from gateway.providers.litellm_provider import LiteLLMProvider
from gateway.redaction import Redactor
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream


def stream_through_litellm(
    upstream: FakeUpstream,
    script: fake.Script,
    *,
    settle: float = 0.0,
    at_end: Callable[[], None] = lambda: None,
) -> tuple[str, Any]:
    """The text and the usage of one stream on an `openai/` LiteLLM route; `settle`: how
    long the event loop runs on after the stream is closed (for work it left behind);
    `at_end`: called once the last chunk is read, before the stream is closed."""
    upstream.scripts["scripted"] = script
    route = ModelRoute(
        name="via-litellm",
        model="openai/scripted",
        provider="litellm",
        api_base=upstream.url,
        api_key=Secret("sk-provider"),
    )
    request = UpstreamRequest(
        route, {"messages": [{"role": "user", "content": "hi"}]}, {}, 30.0, {}
    )

    async def run() -> tuple[str, Any]:
        stream = await LiteLLMProvider(Redactor(())).open(request)
        text, usage = "", None
        async for chunk in stream:
            for choice in chunk["choices"]:
                text += choice["delta"].get("content") or ""
            usage = chunk.get("usage") or usage
        at_end()
        await stream.aclose()
        await asyncio.sleep(settle)
        return text, usage

    return asyncio.run(run())
