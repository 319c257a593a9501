"""Claude on Amazon Bedrock in Anthropic's Messages protocol, through LiteLLM's native
Messages interface (`litellm.anthropic.messages.acreate`), which signs the request with
the environment's AWS credentials and turns Bedrock's event stream back into Anthropic's
events: prompt caching, thinking signatures and the rest of the protocol reach both ends
as they do on the direct path to Anthropic.

The interface takes the request's fields as keyword arguments beside its own
configuration (`api_base`, `api_key`, `extra_headers`, `timeout`, `aws_*`, ...). So
only the fields in `params.MESSAGES_FIELDS`, a fixed list of Anthropic's, are given to
it; a field outside it, known now or added to LiteLLM later, never becomes an argument.
The events come with the same bounds as on the direct path: each at most
`MAX_EVENT_BYTES`, the stream complete only after `message_stop`, an `error` event the
gateway's own error, redacted.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from gateway.core.chunks import EventSource
from gateway.errors import UpstreamFailed, UpstreamTimeout
from gateway.params import MESSAGES_FIELDS
from gateway.providers.anthropic_native import ANTHROPIC_MESSAGES
from gateway.providers.base import NativeUpstreamRequest
from gateway.providers.limits import MAX_EVENT_BYTES, TOO_LARGE
from gateway.providers.litellm_provider import _litellm, map_litellm_error
from gateway.providers.native_direct import is_last_event
from gateway.providers.upstream_errors import NO_ANSWER
from gateway.redaction import Redactor

UNFINISHED = "The provider closed the stream before it was complete."


class LiteLLMMessagesProvider:
    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor

    async def stream(self, request: NativeUpstreamRequest) -> LiteLLMMessagesEvents:
        return LiteLLMMessagesEvents(await self._call(request, stream=True), self._redactor)

    async def answer(self, request: NativeUpstreamRequest) -> bytes:
        """The message as JSON, within `MAX_EVENT_BYTES`."""
        message = await self._call(request, stream=False)
        body = orjson.dumps(message)
        if len(body) > MAX_EVENT_BYTES:
            raise UpstreamFailed(TOO_LARGE)
        return body

    async def _call(self, request: NativeUpstreamRequest, *, stream: bool) -> Any:
        litellm = _litellm()
        route = request.route
        fields = {name: v for name, v in request.body.items() if name in MESSAGES_FIELDS}
        try:
            async with asyncio.timeout(request.timeout_seconds):
                return await litellm.anthropic.messages.acreate(
                    **fields,
                    model=route.model,
                    stream=stream,
                    api_base=route.api_base,
                    api_key=route.api_key.reveal() if route.api_key else None,
                    extra_headers=dict(request.headers) or None,
                    max_retries=0,
                    num_retries=0,
                )
        except TimeoutError:
            raise UpstreamTimeout(NO_ANSWER) from None
        except Exception as exc:
            raise map_litellm_error(exc, self._redactor) from None

    def prepare(self) -> None:
        """LiteLLM, and the module its streams are read by (it imports part of LiteLLM's
        proxy: 0.7 s, 14 MB, once)."""
        _litellm()
        import litellm.llms.anthropic.messages.native.streaming_iterator  # noqa: F401

    async def aclose(self) -> None:
        return None


class LiteLLMMessagesEvents(EventSource[bytes]):
    """LiteLLM's stream of Anthropic events (whole server-sent events, as bytes)."""

    __slots__ = ("_iterator", "_redactor", "_stopped", "_stream")

    def __init__(self, stream: Any, redactor: Redactor) -> None:
        self._stream = stream
        self._iterator = stream.__aiter__()
        self._redactor = redactor
        self._stopped = False

    async def __anext__(self) -> bytes:
        try:
            event = await self._iterator.__anext__()
        except StopAsyncIteration:
            if self._stopped:
                raise
            raise UpstreamFailed(UNFINISHED) from None
        except Exception as exc:
            raise map_litellm_error(exc, self._redactor, streaming=True) from None
        if not isinstance(event, bytes):
            raise UpstreamFailed("The provider sent an event of the wrong shape.")
        if len(event) > MAX_EVENT_BYTES:
            raise UpstreamFailed(TOO_LARGE)
        self._stopped |= is_last_event(event, ANTHROPIC_MESSAGES, self._redactor)
        return event

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()
