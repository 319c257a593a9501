"""The door contract: what every front door provides to the shared completion service.

A door is one module per wire format, and one object for the process: it parses its
request into the internal request (`gateway.core.request.ChatRequest`, or a subclass
carrying what only that door needs back), and turns the chunk stream into its events, its
JSON body and its error shape. What differs per request travels in the request, never in
the door. Optional hooks are declared here with their defaults: a door or a format that
subclasses these protocols inherits them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from starlette.responses import Response

from gateway.core.request import ChatRequest
from gateway.limits.headers import Allowance, openai_headers

if TYPE_CHECKING:
    from gateway.aggregate import CompletionBuilder
    from gateway.core.chunks import Chunk, Usage
    from gateway.errors import GatewayError

RequestT = TypeVar("RequestT", bound=ChatRequest)

Keep = Callable[[RequestT, dict[str, Any]], Awaitable[None]]
"""Keeps a finished response body (the Responses API's stored responses): given by the
endpoint, awaited before the response's last byte (on Lambda nothing runs after it)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """The identity a response shows the client: one id, one creation time, one model."""

    id: str
    created: int
    model: str


class StreamFormat(Protocol):
    """Frames one stream's chunks as a door's server-sent events."""

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

    def frame(self, chunk: Chunk) -> bytes | None:
        """The bytes for `chunk`, or None when it produces no event yet."""
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


class Door(Protocol[RequestT]):
    name: str
    """The request log's event name, e.g. `chat.completions`."""
    id_prefix: str
    """Prefix of the response ids this door hands out (`chatcmpl-`, `resp_`, `msg_`)."""

    def parse(self, body: object) -> RequestT:
        """Validate the client's JSON and translate it; `InvalidRequest` names the field
        by its path in the client's request."""
        ...

    def stream_format(self, reply: Reply, request: RequestT) -> StreamFormat: ...

    def render(self, builder: CompletionBuilder, reply: Reply, request: RequestT) -> dict[str, Any]:
        """The non-streamed response body."""
        ...

    def error_response(self, error: GatewayError) -> Response:
        """`error` as an HTTP response in this door's error shape (before the first byte)."""
        ...

    def limit_headers(self, allowances: tuple[Allowance, ...], now: float) -> dict[str, str]:
        """A limited tenant's allowance as headers. Default: OpenAI's `x-ratelimit-*`."""
        return openai_headers(allowances, now)
