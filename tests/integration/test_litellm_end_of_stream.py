"""On Lambda nothing may run after a response's last byte: an ended LiteLLM stream starts
none of LiteLLM's end-of-stream work (success logging, which prices the answer, and its own
response cache; both are off in the gateway, and both would run as tasks after the end)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.config import ModelRoute, Secret
from gateway.providers.base import UpstreamRequest
from gateway.providers.litellm_provider import LiteLLMProvider, _litellm
from gateway.redaction import Redactor
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream


def test_an_ended_litellm_stream_starts_no_work_of_litellm_s(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    _litellm()
    from litellm.litellm_core_utils.litellm_logging import Logging
    from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper

    started: list[str] = []

    def recorder(name: str) -> Any:
        async def record(*args: Any, **kwargs: Any) -> None:
            started.append(name)

        return record

    monkeypatch.setattr(Logging, "async_success_handler", recorder("success logging"))
    monkeypatch.setattr(
        CustomStreamWrapper, "async_cache_streaming_response", recorder("response cache")
    )
    upstream.scripts["scripted"] = fake.text(["Hello", " world"])
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

    async def run() -> str:
        stream = await LiteLLMProvider(Redactor(())).open(request)
        text = ""
        async for chunk in stream:
            for choice in chunk["choices"]:
                text += choice["delta"].get("content") or ""
        await stream.aclose()
        await asyncio.sleep(0.1)  # what was started runs now
        return text

    assert asyncio.run(run()) == "Hello world"
    assert started == []
