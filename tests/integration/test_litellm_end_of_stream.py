"""On Lambda nothing may run after a response's last byte: an ended LiteLLM stream starts
none of LiteLLM's end-of-stream work (success logging, which prices the answer, and its own
response cache; both are off in the gateway, and both would run as tasks after the end)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.providers.litellm_provider import _litellm
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.litellm_stream import stream_through_litellm


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
    text, _ = stream_through_litellm(upstream, fake.text(["Hello", " world"]), settle=0.1)

    assert text == "Hello world"  # and what was started has had its turn to run:
    assert started == []
