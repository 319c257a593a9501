"""What every front door provides to the shared completion service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from starlette.responses import Response

from gateway.core.request import ChatRequest

if TYPE_CHECKING:
    from gateway.aggregate import CompletionBuilder
    from gateway.core.chunks import Chunk, Usage
    from gateway.errors import GatewayError


@dataclass(frozen=True, slots=True)
class Reply:
    """The identity a response shows the client: one id, one creation time, one model."""

    id: str
    created: int
    model: str


class StreamFormat(Protocol):
    """Frames one stream's chunks as a door's server-sent events.

    A format may also offer `async finish()`: awaited once the provider has finished,
    before `ending()` is written, for work that must be done before the last byte (on
    Lambda nothing runs after it).
    """

    keepalive: bytes
    """Written while the provider is silent, so proxies keep the connection."""
    chunks: int
    """Events framed so far (for the request log)."""
    usage: Usage | None
    """The usage the provider reported, once it has."""

    def frame(self, chunk: Chunk) -> bytes | None:
        """The bytes for `chunk`, or None when it produces no event yet."""
        ...

    def ending(self) -> bytes:
        """What closes a stream the provider finished."""
        ...

    def error(self, error: GatewayError) -> bytes:
        """The event that ends a stream with `error` after the first byte."""
        ...


class Door(Protocol):
    name: str
    """The request log's event name, e.g. `chat.completions`."""
    id_prefix: str
    """Prefix of the response ids this door hands out (`chatcmpl-`, `resp_`, `msg_`)."""

    def parse(self, body: object) -> ChatRequest:
        """Validate the client's JSON and translate it; `InvalidRequest` names the field."""
        ...

    def stream_format(self, reply: Reply, request: ChatRequest) -> StreamFormat: ...

    def render(self, builder: CompletionBuilder, reply: Reply) -> dict[str, Any]:
        """The non-streamed response body."""
        ...

    def error_response(self, error: GatewayError) -> Response:
        """`error` as an HTTP response in this door's error shape (before the first byte)."""
        ...
