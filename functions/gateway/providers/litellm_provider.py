"""Provider for everything that needs translation (Anthropic, Bedrock, Vertex, ...): LiteLLM.

LiteLLM costs seconds and ~200 MB to import, so this module is imported only when a route
that needs it is first used, and it imports LiteLLM only inside `_litellm()`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from gateway.errors import GatewayError, UpstreamFailed, UpstreamTimeout
from gateway.providers.base import Chunk, UpstreamRequest
from gateway.providers.bounded import bound_litellm_transports
from gateway.providers.chunk_shape import WRONG_SHAPE, checked_chunk
from gateway.providers.upstream_errors import (
    BROKE_OFF,
    NO_ANSWER,
    UNREACHABLE,
    error_for_status,
)
from gateway.redaction import Redactor

_DELTA_TEXT_FIELDS = ("role", "content", "reasoning_content", "refusal")
_module: ModuleType | None = None


def _litellm() -> ModuleType:
    """Import and configure LiteLLM once, with everything we do not use turned off."""
    global _module
    if _module is None:
        # Use the bundled model cost map: importing must never reach the network.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm
        from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

        bound_litellm_transports(AsyncHTTPHandler)
        _no_cost_for_unread_streams(litellm)
        litellm.telemetry = False
        litellm.suppress_debug_info = True
        litellm.turn_off_message_logging = True
        litellm.drop_params = False
        litellm.callbacks = []
        litellm.success_callback = []
        litellm.failure_callback = []
        _module = litellm
    return _module


def _no_cost_for_unread_streams(litellm: ModuleType) -> None:
    """Skip LiteLLM's cost of a stream that has not been read yet.

    As `acompletion` returns a stream, LiteLLM prices it for the stream's hidden
    parameters: with no usage in hand yet, it counts the prompt's tokens, and the first
    count loads tiktoken's `cl100k_base` vocabulary, about 40 MB of RSS for the life of the
    process (measured: 203 MB after importing LiteLLM, 252 MB after the first `open`, of
    which 39 MB that import). Nothing reads that figure: the gateway takes usage from the
    stream's chunks, LiteLLM's callbacks are off, and the end of a stream is priced from
    its own usage. Every other cost calculation is LiteLLM's own; token counts for usage
    estimates (`_Estimate`) still load the vocabulary when a provider reports no usage.
    """
    from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper

    calculate = litellm.response_cost_calculator
    if getattr(calculate, "skips_unread_streams", False):
        return

    def response_cost_calculator(*args: Any, **kwargs: Any) -> Any:
        if isinstance(kwargs.get("response_object"), CustomStreamWrapper):
            return None
        return calculate(*args, **kwargs)

    response_cost_calculator.skips_unread_streams = True  # type: ignore[attr-defined]
    litellm.response_cost_calculator = response_cost_calculator  # type: ignore[attr-defined]


class LiteLLMProvider:
    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor

    async def open(self, request: UpstreamRequest) -> LiteLLMChunkStream:
        litellm = _litellm()
        route = request.route
        api_key = route.api_key.reveal() if route.api_key else None
        try:
            async with asyncio.timeout(request.timeout_seconds):
                stream = await litellm.acompletion(
                    **request.params,
                    model=route.model,
                    api_base=route.api_base,
                    api_key=api_key,
                    stream=True,
                    stream_options={"include_usage": True},
                    extra_headers=request.headers or None,
                    extra_body=request.extra_body or None,
                    max_retries=0,
                    num_retries=0,
                )
        except TimeoutError:
            raise UpstreamTimeout(NO_ANSWER) from None
        except Exception as exc:
            raise map_litellm_error(exc, self._redactor) from None
        return LiteLLMChunkStream(stream, self._redactor, _Estimate(route.model, request.params))

    def prepare(self) -> None:
        _litellm()

    async def aclose(self) -> None:
        return None


def _own_error(exc: BaseException) -> GatewayError | None:
    """A gateway error (a bound in `bounded`, say) that LiteLLM wrapped in its own."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, GatewayError):
            return current
        seen.add(id(current))
        original = getattr(current, "original_exception", None)
        current = (
            original
            if isinstance(original, BaseException)
            else current.__cause__ or current.__context__
        )
    return None


def map_litellm_error(exc: Exception, redactor: Redactor, streaming: bool = False) -> GatewayError:
    """LiteLLM's exceptions carry the provider's status; map it as for direct routes.

    `streaming`: the stream had started, so a failure without a status of the provider's
    is the stream breaking off (LiteLLM reports it as a 500 of its own).
    """
    litellm = _litellm()
    own = _own_error(exc)
    if own is not None:
        return own
    if isinstance(exc, litellm.Timeout):
        return UpstreamTimeout(NO_ANSWER)
    broke_off = litellm.exceptions.MidStreamFallbackError | litellm.APIConnectionError
    if streaming and isinstance(exc, broke_off):
        return UpstreamFailed(BROKE_OFF)
    if isinstance(exc, litellm.APIConnectionError):
        return UpstreamFailed(UNREACHABLE)
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        return UpstreamFailed("The provider failed.")
    message = str(getattr(exc, "message", "") or "")
    # LiteLLM prefixes the provider's text with its own labels ("...Exception - text").
    detail = redactor.clean(message.rsplit(" - ", 1)[-1])
    response = getattr(exc, "response", None)
    retry_after = response.headers.get("retry-after") if response is not None else None
    return error_for_status(status, detail, retry_after)


def _values(model: Any) -> Mapping[str, Any]:
    """A LiteLLM object's fields, read from its dicts rather than by attribute.

    This runs for every chunk: LiteLLM keeps `content`, `role` and `tool_calls` among a
    model's pydantic extras, where each attribute read goes through pydantic's
    `__getattr__`, and a field that is absent (`refusal`, `usage`) costs a raised
    `AttributeError`; reading the dicts is ten times cheaper.
    """
    if isinstance(model, Mapping):
        return model
    values: dict[str, Any] = getattr(model, "__dict__", {})
    extra = getattr(model, "__pydantic_extra__", None)
    return {**values, **extra} if extra else values


def _tool_call(call: Any) -> dict[str, Any]:
    """A tool-call fragment as OpenAI streams it: `id` and `type` only on a call's first
    fragment (LiteLLM repeats `type` on every one)."""
    fragment: dict[str, Any] = call.model_dump(exclude_none=True)
    if "id" not in fragment:
        fragment.pop("type", None)
    return fragment


def _choice(choice: Any) -> dict[str, Any]:
    fields = _values(choice)
    source = _values(fields.get("delta"))
    delta: dict[str, Any] = {}
    for name in _DELTA_TEXT_FIELDS:
        value = source.get(name)
        if value is not None:
            delta[name] = value
    tool_calls = source.get("tool_calls")
    if tool_calls:
        delta["tool_calls"] = [_tool_call(call) for call in tool_calls]
    out = {
        "index": fields.get("index", 0),
        "delta": delta,
        "finish_reason": fields.get("finish_reason"),
    }
    logprobs = fields.get("logprobs")
    if logprobs is not None:
        out["logprobs"] = logprobs if isinstance(logprobs, dict) else logprobs.model_dump()
    return out


class ChunkTail(list[Any]):
    """Stands in for the list in which LiteLLM's stream wrapper keeps every chunk.

    The wrapper holds each chunk (a pydantic object, about a kilobyte) until the stream
    ends, to rebuild the whole response for its usage figure, which also delays the end
    of the stream. It looks back only two chunks (its repetition check); the rebuild needs
    the first chunk and those that carry usage. So only those are kept: the rebuild costs
    next to nothing, and a stream's memory no longer grows with its length.
    """

    __slots__ = ("reported_usage",)

    def __init__(self, chunks: list[Any]) -> None:
        super().__init__()
        self.reported_usage: dict[str, Any] | None = None
        for chunk in chunks:
            self.append(chunk)

    def append(self, chunk: Any) -> None:
        usage = _values(chunk).get("usage")
        if usage is not None:
            self.reported_usage = _usage_dict(usage)
        super().append(chunk)
        if len(self) > 3 and _values(self[-3]).get("usage") is None:
            del self[-3]  # neither the first, nor one with usage, nor one of the last two


class OneIterator:
    """Stands in for the provider stream LiteLLM's stream wrapper reads (`completion_stream`),
    so that one iterator serves the whole stream.

    The wrapper's `__anext__` runs `async for chunk in completion_stream`, returning after one
    chunk: every chunk starts a new iteration. For OpenAI-style providers that stream is the
    `openai` SDK's `AsyncStream`, whose `__aiter__` is an async generator; each chunk thus
    leaves a suspended generator behind, holding the SDK's chunk object. Asyncio finalizes
    an abandoned async generator by scheduling its `aclose()` from the event loop (a task
    per chunk, and a write to the loop's wake-up socket), which keeps the generator and its
    chunk alive until the loop next runs: in a burst that is after hundreds of chunks.
    Measured (5 streams held at chunk 500 of 1000): 2,500 `ChatCompletionChunk`s alive,
    each referenced only by its own `AsyncStream.__aiter__` generator; with this, 0.
    Everything but iteration (`aclose`, `close`, `response`) is the stream's own.
    """

    __slots__ = ("_inner", "_iterator")

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._iterator = inner.__aiter__()

    def __aiter__(self) -> OneIterator:
        return self

    def __anext__(self) -> Any:
        return self._iterator.__anext__()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _iterate_once(stream: Any) -> bool:
    """Wrap `stream`'s provider stream in a `OneIterator` once it has one (some providers'
    streams open it on the first read); whether it is wrapped."""
    inner = getattr(stream, "completion_stream", None)
    if type(inner) is OneIterator:
        return True
    if inner is None or not hasattr(inner, "__aiter__"):
        return False
    stream.completion_stream = OneIterator(inner)
    return True


async def _skipped(*args: Any, **kwargs: Any) -> None:
    """Stands in for LiteLLM's end-of-stream work (see `_nothing_after_the_end`)."""


def _nothing_after_the_end(stream: Any) -> None:
    """Keep LiteLLM from scheduling work for after a stream's end.

    As its stream wrapper ends, LiteLLM starts two tasks: success logging, which prices the
    answer and builds a logging payload (about 2 ms of CPU a stream, measured after the
    last byte), and storing the answer in its own response cache. The gateway turns
    LiteLLM's callbacks and cache off, so neither does anything it uses, and both would run
    after the response's last byte: on Lambda, frozen mid-way and finished during the next
    invocation, on its time.
    """
    stream.logging_obj.dispatch_success_handlers = _skipped
    stream.async_cache_streaming_response = _skipped


class _Estimate:
    """LiteLLM's usage estimate, for a provider that reported none: its token counter on
    the prompt and on the streamed text (content, tool-call names and arguments)."""

    __slots__ = ("_model", "_params", "_text")

    def __init__(self, model: str, params: Mapping[str, Any]) -> None:
        self._model = model
        self._params = params
        self._text: list[str] = []

    def add(self, choice: Mapping[str, Any]) -> None:
        delta = choice["delta"]
        if "content" in delta:
            self._text.append(delta["content"])
        for call in delta.get("tool_calls", ()):
            function = call.get("function") or {}
            self._text += [function.get("name") or "", function.get("arguments") or ""]

    def usage(self) -> dict[str, Any]:
        count = _litellm().token_counter
        prompt = count(model=self._model, messages=self._params.get("messages") or [])
        completion = count(model=self._model, text="".join(self._text), count_response_tokens=True)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }


def _usage_dict(usage: Any) -> dict[str, Any]:
    return usage if isinstance(usage, dict) else usage.model_dump(exclude_none=True)


class LiteLLMChunkStream:
    """LiteLLM's stream objects, converted to the gateway's chunk shape.

    Usage is what the provider reported (as LiteLLM translated it), or, when it reported
    none, LiteLLM's estimate from the whole stream.
    """

    def __init__(self, stream: Any, redactor: Redactor, estimate: _Estimate) -> None:
        self._stream = stream
        self._chunks = stream.chunks = ChunkTail(stream.chunks)
        _nothing_after_the_end(stream)
        self._iterating_once = _iterate_once(stream)
        self._iterator = stream.__aiter__()
        self._redactor = redactor
        self._estimate = estimate

    def __aiter__(self) -> LiteLLMChunkStream:
        return self

    async def __anext__(self) -> Chunk:
        if not self._iterating_once:
            self._iterating_once = _iterate_once(self._stream)
        try:
            item = await self._iterator.__anext__()
        except StopAsyncIteration:
            raise
        except Exception as exc:
            raise map_litellm_error(exc, self._redactor, streaming=True) from None
        try:
            fields = _values(item)
            choices = [_choice(c) for c in fields.get("choices") or ()]
            chunk: Chunk = {"choices": choices}
            if fields.get("usage") is not None:
                chunk["usage"] = self._chunks.reported_usage or self._estimate.usage()
            checked_chunk(chunk)
        except (AttributeError, TypeError, ValueError):  # LiteLLM passed on junk it was sent
            raise UpstreamFailed(WRONG_SHAPE) from None
        for choice in choices:
            self._estimate.add(choice)
        return chunk

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()
