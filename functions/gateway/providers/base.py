"""The provider interface: a request in, an async stream of chunks out (`gateway.core`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.config import ModelRoute
from gateway.core.chunks import ChunkStream, EventSource


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """What a provider needs: the route and the client's fields, split by `gateway.params`.

    `model`, `stream` and `stream_options` are not among them: each provider sets those
    itself (it always streams, with usage).
    """

    route: ModelRoute
    params: dict[str, Any]
    """OpenAI chat-completion parameters."""
    extra_body: dict[str, Any]
    """Other fields the client sent: JSON body fields, never provider configuration."""
    timeout_seconds: float
    headers: dict[str, str]
    """Client headers on the operator's allow-list (`GATEWAY_FORWARD_HEADERS`)."""


class Provider(Protocol):
    async def open(self, request: UpstreamRequest) -> ChunkStream:
        """Send the request and wait for the provider to accept it.

        Raises a `GatewayError` for anything that fails before the stream starts, so the
        client gets a proper HTTP status. Failures later are raised by `__anext__`.
        """
        ...

    def prepare(self) -> None:
        """Do the costly one-time setup now (imports, clients, TLS context): called before
        a SnapStart snapshot, so that restored environments start with it done."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections at shutdown."""
        ...


@dataclass(frozen=True, slots=True)
class NativeUpstreamRequest:
    """A request passed through in the provider's own protocol: the client's body (the
    provider puts the route's model in it) and the headers the door let through."""

    route: ModelRoute
    body: dict[str, Any]
    headers: Mapping[str, str]
    timeout_seconds: float
    """For the provider to start its answer (a non-streamed answer: to give all of it)."""


class NativeProvider(Protocol):
    """A provider that takes a door's protocol as it is (see `doors.base.Passthrough`)."""

    async def stream(self, request: NativeUpstreamRequest) -> EventSource[bytes]:
        """The provider's events, whole, once it has accepted the request (failures
        before that are `GatewayError`s, as for `Provider.open`)."""
        ...

    async def answer(self, request: NativeUpstreamRequest) -> bytes:
        """A non-streamed answer's body, whole."""
        ...

    def prepare(self) -> None: ...

    async def aclose(self) -> None: ...
