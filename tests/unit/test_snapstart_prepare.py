"""Under SnapStart, providers (LiteLLM's import included) are set up before the snapshot."""

from __future__ import annotations

import json

import pytest
import snapshot_restore_py

from gateway.app import create_app
from gateway.config import Settings

MODELS = json.dumps(
    {
        "direct": {"model": "openai/x", "api_base": "http://127.0.0.1:9/v1"},
        "translated": {"model": "anthropic/claude-sonnet-4-5", "api_base": "http://127.0.0.1:9"},
    }
)


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    registered: list[object] = []
    monkeypatch.setattr(
        snapshot_restore_py,
        "register_before_snapshot",
        lambda func, *args: registered.append((func, args)),
    )
    return registered


def test_snapstart_registers_a_hook_that_prepares_every_route(
    monkeypatch: pytest.MonkeyPatch, hooks: list[tuple[object, tuple[object, ...]]]
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    app = create_app(Settings.from_env({"GATEWAY_MODELS": MODELS}))
    providers = app.state.service._providers

    [(hook, args)] = hooks
    hook(*args)  # what the runtime does before the snapshot

    assert set(providers._instances) == {"openai-compatible", "litellm"}
    import gateway.providers.litellm_provider as litellm_provider

    assert litellm_provider._loaded is not None


def test_without_snapstart_nothing_is_prepared_ahead(
    monkeypatch: pytest.MonkeyPatch, hooks: list[object]
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
    app = create_app(Settings.from_env({"GATEWAY_MODELS": MODELS}))

    assert hooks == []
    assert app.state.service._providers._instances == {}
