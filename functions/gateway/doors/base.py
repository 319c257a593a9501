"""The door contract: what every front door provides to the shared completion service.

A door is one module per wire format, and one object for the process: it parses its
request into the internal request (`gateway.core.request.ChatRequest`, or a subclass
carrying what only that door needs back), and turns the chunk stream into its events, its
JSON body and its error shape. What differs per request travels in the request, never in
the door. Optional hooks are declared here with their defaults: a door or a format that
subclasses these protocols inherits them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import orjson
from starlette.responses import Response

from gateway.core.chunks import Chunk, Usage
from gateway.core.request import ChatRequest
from gateway.errors import GatewayError, UpstreamFailed
from gateway.limits.headers import Allowance, openai_headers
from gateway.limits.meter import Relayed

if TYPE_CHECKING:
    from gateway.aggregate import CompletionBuilder
    from gateway.config import ModelRoute, NativeProtocol

RequestT = TypeVar("RequestT", bound=ChatRequest)
ItemT_contra = TypeVar("ItemT_contra", contravariant=True)

Keep = Callable[[RequestT, dict[str, Any]], Awaitable[None]]
"""Keeps a finished response body (the Responses API's stored responses): given by the
endpoint, awaited before the response's last byte (on Lambda nothing runs after it)."""

KeepNative = Callable[[dict[str, Any]], Awaitable[None]]
"""`Keep` for a request passed through natively: given the provider's response object."""


@dataclass(frozen=True, slots=True)
class Reply:
    """The identity a response shows the client: one id, one creation time, one model."""

    id: str
    created: int
    model: str


class EventFormat(Protocol[ItemT_contra]):
    """Frames what one stream's provider sends (chunks, or a native protocol's events) as
    a door's server-sent events."""

    __slots__ = ()

    keepalive: bytes
    """Written while the provider is silent, so proxies keep the connection."""
    chunks: int
    """Events framed so far (for the request log)."""
    usage: Usage | None
    """The usage the provider reported, once it has."""
    final: dict[str, Any] | None = None
    """The response body the stream amounts to, once `finish()` has run: for a door whose
    responses may be kept (see `Keep`); None for the others."""

    def frame(self, item: ItemT_contra) -> bytes | None:
        """The bytes for `item`, or None when it produces no event yet."""
        ...

    async def finish(self) -> None:
        """Awaited once the provider has finished, before `ending()`, for work that must
        be done before the last byte. Default: nothing."""
        return

    def ending(self) -> bytes:
        """What closes a stream the provider finished."""
        ...

    def error(self, error: GatewayError) -> bytes:
        """The event that ends a stream with `error` after the first byte."""
        ...


class NativeFormat(EventFormat[bytes], Relayed, Protocol):
    """Frames a native protocol's events (bytes) as they came, noting what they relay
    for settling the stream."""

    __slots__ = ()


class StreamFormat(EventFormat[Chunk], Protocol):
    """Frames one stream's chunks as a door's server-sent events."""

    __slots__ = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class NativeRequest(ChatRequest):
    """A request passed through in its door's own protocol: `body` is the client's body as
    it sent it (the request hashes are computed from it); `headers` are what the
    provider is sent besides the ones it sets itself."""

    headers: Mapping[str, str]


class Passthrough(Protocol):
    """How a door hands its own protocol to a provider that speaks it, untranslated: to
    the routes whose `native_protocol` is the door's (`Door.passthrough`)."""

    protocol: NativeProtocol

    def model(self, body: object) -> str | None:
        """The model the request names, if it names one (else the door's `parse` says
        what is wrong)."""
        ...

    def check(
        self,
        body: object,
        route: ModelRoute,
        headers: Mapping[str, str],
        forwarded: Mapping[str, str],
    ) -> NativeRequest:
        """The request as it will be passed on, if the gateway and `route` allow it:
        `InvalidRequest` for transport-shaped fields, `NotAllowed` for what the route does
        not allow. `headers` are the client's, `forwarded` those the operator passes on
        (`GATEWAY_FORWARD_HEADERS`)."""
        ...

    def stream_format(self) -> NativeFormat:
        """Frames the provider's own events (bytes) for the client."""
        ...

    def usage(self, answer: bytes) -> Usage | None:
        """The usage in a non-streamed answer, for settlement and the request log."""
        ...

    def answer_object(self, answer: bytes) -> dict[str, Any]:
        """A non-streamed answer's JSON object; `UpstreamFailed` if it is none."""
        try:
            parsed = orjson.loads(answer)
        except orjson.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            raise UpstreamFailed("The provider's answer is not a JSON object.")
        return parsed

    def estimate_input_tokens(self, body: dict[str, Any]) -> int:
        """About how many tokens the request's input is, for a charge when the provider
        reported none (the client left first)."""
        ...


class FrontDoor(Protocol):
    """What every door has, whatever its answer: a name, ids and an error shape. The
    endpoint sets it on the request first, so that every failure takes its shape."""

    name: str
    """The request log's event name, e.g. `chat.completions`."""
    id_prefix: str
    """Prefix of the ids this door hands out (`chatcmpl-`, `resp_`, `msg_`): response ids,
    and the `x-request-id` header."""

    def error_response(self, error: GatewayError) -> Response:
        """`error` as an HTTP response in this door's error shape (before the first byte)."""
        ...

    def limit_headers(self, allowances: tuple[Allowance, ...], now: float) -> dict[str, str]:
        """A limited tenant's allowance as headers. Default: OpenAI's `x-ratelimit-*`."""
        return openai_headers(allowances, now)


class Door(FrontDoor, Protocol[RequestT]):
    """A door whose answer is the chunk stream: streamed as its events, or collected and
    rendered. (The embeddings door, whose answer is not a stream, is a `FrontDoor`.)"""

    passthrough: Passthrough | None = None
    """Set by a door whose protocol some providers speak themselves; None: every request
    is translated."""

    def parse(self, body: object) -> RequestT:
        """Validate the client's JSON and translate it; `InvalidRequest` names the field
        by its path in the client's request."""
        ...

    def stream_format(self, reply: Reply, request: RequestT) -> StreamFormat: ...

    def render(self, builder: CompletionBuilder, reply: Reply, request: RequestT) -> dict[str, Any]:
        """The non-streamed response body."""
        ...
