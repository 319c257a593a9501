"""Providers, created on first use so that a route's dependencies load only if it is used."""

from __future__ import annotations

from collections.abc import Iterable

from gateway.config import ModelRoute, NativeProtocol, ProviderKind, Settings
from gateway.providers.base import NativeProvider, Provider
from gateway.redaction import Redactor


class Providers:
    """One provider instance per kind, shared by all requests of the process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._redactor = Redactor(settings.secret_values())
        self._instances: dict[ProviderKind, Provider] = {}
        self._native: dict[NativeProtocol, NativeProvider] = {}
        self._claude_on_bedrock: NativeProvider | None = None

    def for_route(self, route: ModelRoute) -> Provider:
        provider = self._instances.get(route.provider)
        if provider is None:
            provider = self._instances[route.provider] = self._create(route.provider)
        return provider

    def native(self, protocol: NativeProtocol) -> NativeProvider:
        """The provider for requests passed through in `protocol` (to routes whose
        `native_protocol` it is): Anthropic's Messages API on the direct path."""
        provider = self._native.get(protocol)
        if provider is None:
            from gateway.providers.anthropic_native import AnthropicNativeProvider

            provider = self._native[protocol] = AnthropicNativeProvider(
                self._settings, self._redactor
            )
        return provider

    def native_for(self, route: ModelRoute) -> NativeProvider:
        """The provider a request passed through to `route` goes to: LiteLLM's native
        Messages interface for Claude on Bedrock, else `native(route.native_protocol)`."""
        if route.claude_on_bedrock:
            if self._claude_on_bedrock is None:
                from gateway.providers.litellm_messages import LiteLLMMessagesProvider

                self._claude_on_bedrock = LiteLLMMessagesProvider(self._redactor)
            return self._claude_on_bedrock
        assert route.native_protocol is not None
        return self.native(route.native_protocol)

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
        if self._claude_on_bedrock is not None:
            await self._claude_on_bedrock.aclose()
        self._instances.clear()
        self._native.clear()
        self._claude_on_bedrock = None
