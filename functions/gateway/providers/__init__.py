"""Providers, created on first use so that a route's dependencies load only if it is used."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from gateway.config import ModelRoute, ProviderKind, Settings
from gateway.providers.base import NativeProvider, Provider
from gateway.redaction import Redactor

NativeKind = Literal["messages", "responses", "claude-on-bedrock"]


class Providers:
    """One provider instance per kind, shared by all requests of the process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._redactor = Redactor(settings.secret_values())
        self._instances: dict[ProviderKind, Provider] = {}
        self._native: dict[NativeKind, NativeProvider] = {}

    def for_route(self, route: ModelRoute) -> Provider:
        provider = self._instances.get(route.provider)
        if provider is None:
            provider = self._instances[route.provider] = self._create(route.provider)
        return provider

    def native_for(self, route: ModelRoute) -> NativeProvider:
        """The provider a request passed through to `route` goes to (a route whose
        `native_protocol` is set)."""
        kind: NativeKind | None = (
            "claude-on-bedrock" if route.claude_on_bedrock else route.native_protocol
        )
        assert kind is not None, "a route without a native protocol"
        provider = self._native.get(kind)
        if provider is None:
            provider = self._native[kind] = _native_provider(kind, self._settings, self._redactor)
        return provider

    def _create(self, kind: ProviderKind) -> Provider:
        if kind == "echo":
            from gateway.providers.echo import EchoProvider

            return EchoProvider(self._settings.echo_word_delay_seconds)
        if kind == "openai-compatible":
            from gateway.providers.openai_compatible import OpenAICompatibleProvider

            return OpenAICompatibleProvider(self._settings, self._redactor)
        from gateway.providers.litellm_provider import LiteLLMProvider  # imports LiteLLM

        return LiteLLMProvider(self._redactor)

    def prepare(self, routes: Iterable[ModelRoute]) -> None:
        """Create and set up the providers these routes use (see `Provider.prepare`)."""
        for route in routes:
            self.for_route(route).prepare()
            if route.native_protocol is not None:
                self.native_for(route).prepare()

    async def aclose(self) -> None:
        for provider in self._instances.values():
            await provider.aclose()
        for native in self._native.values():
            await native.aclose()
        self._instances.clear()
        self._native.clear()


def _native_provider(kind: NativeKind, settings: Settings, redactor: Redactor) -> NativeProvider:
    """Which provider serves `kind`, imported on first use: Anthropic's Messages API and
    OpenAI's Responses API on the direct path; Claude on Bedrock by LiteLLM's native
    Messages interface (Bedrock's signing and event stream are LiteLLM's)."""
    if kind == "claude-on-bedrock":
        from gateway.providers.litellm_messages import LiteLLMMessagesProvider

        return LiteLLMMessagesProvider(redactor)
    from gateway.providers.native_direct import NativeDirectProvider

    if kind == "messages":
        from gateway.providers.anthropic_native import ANTHROPIC_MESSAGES

        return NativeDirectProvider(ANTHROPIC_MESSAGES, settings, redactor)
    from gateway.providers.openai_responses import OPENAI_RESPONSES

    return NativeDirectProvider(OPENAI_RESPONSES, settings, redactor)
