"""Provider for everything that needs translation (Anthropic, Bedrock, Vertex, ...): LiteLLM.

LiteLLM costs seconds and ~200 MB to import, so this module is imported only when a route
that needs it is first used, and it imports LiteLLM only inside `_litellm()`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from gateway.claude_fields import litellm_parameters
from gateway.core.chunk_shape import WRONG_SHAPE, checked_chunk
from gateway.core.chunks import STRING_FIELDS, Choice, Chunk, ChunkStream, Usage
from gateway.core.embeddings import Embeddings, checked_embeddings
from gateway.core.usage import NO_USAGE, usage_from_chat
from gateway.errors import GatewayError, UpstreamFailed, UpstreamTimeout
from gateway.observability import logger
from gateway.params import EMBEDDING_PARAMS
from gateway.providers.base import UpstreamRequest
from gateway.providers.litellm_internals import (
    StreamPatches,
    field_values,
    install,
    usage_dict,
)
from gateway.providers.upstream_errors import (
    BROKE_OFF,
    NO_ANSWER,
    UNREACHABLE,
    error_for_status,
)
from gateway.redaction import Redactor

_loaded: tuple[ModuleType, StreamPatches] | None = None
_EMBEDDING = EMBEDDING_PARAMS - {"encoding_format"}


def _load() -> tuple[ModuleType, StreamPatches]:
    """Import, patch and configure LiteLLM once, with everything we do not use turned off;
    the patches to each of its streams."""
    global _loaded
    if _loaded is None:
        # LiteLLM contacts nothing but the route's provider: its bundled cost map (at
        # import), beta-header table (on a request with `anthropic-beta`, which it would
        # otherwise fetch from GitHub on the event loop) and everything else it would
        # fetch on its own. Set, not defaulted: no environment turns it back on.
        os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        os.environ["LITELLM_OFFLINE_MODE"] = "true"
        # Its native Messages streams keep reading upstream after the client has gone, to
        # bill the rest; with no slots for that, a disconnect ends the upstream read.
        os.environ["ANTHROPIC_MESSAGES_MAX_DETACHED_STREAM_DRAINS"] = "0"
        import litellm

        stream_patches = install(litellm)
        litellm.telemetry = False
        litellm.suppress_debug_info = True
        litellm.turn_off_message_logging = True
        litellm.drop_params = False
        litellm.callbacks = []
        litellm.success_callback = []
        litellm.failure_callback = []
        _log_through_the_gateway(("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"))
        logging.getLogger("LiteLLM Proxy").addFilter(_not_proxy_billing)
        _loaded = litellm, stream_patches
    return _loaded


def _log_through_the_gateway(names: tuple[str, ...]) -> None:
    """LiteLLM's loggers write through the gateway's JSON handler instead of their own
    plain-text one, in which a tenant's value quoted in a warning (an image URL holding
    a line break) could start a log line of its own."""
    for name in names:
        dependency = logging.getLogger(name)
        dependency.handlers = list(logger.handlers)
        dependency.propagate = False


def _not_proxy_billing(record: logging.LogRecord) -> bool:
    """Its proxy's spend logging, which its native Messages streams run and which needs
    the proxy's own dependencies, warns on every stream: the gateway bills itself."""
    return not str(record.msg).startswith("async_sse_wrapper billing failed")


def _litellm() -> ModuleType:
    return _load()[0]


class LiteLLMProvider:
    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor

    async def open(self, request: UpstreamRequest) -> LiteLLMChunkStream:
        litellm, stream_patches = _load()
        route = request.route
        api_key = route.api_key.reveal() if route.api_key else None
        params, extra_body = litellm_parameters(route, request.params, request.extra_body)
        try:
            async with asyncio.timeout(request.timeout_seconds):
                stream = await litellm.acompletion(
                    **params,
                    model=route.model,
                    api_base=route.api_base,
                    api_key=api_key,
                    stream=True,
                    stream_options={"include_usage": True},
                    extra_headers=request.headers or None,
                    extra_body=extra_body or None,
                    max_retries=0,
                    num_retries=0,
                )
        except TimeoutError:
            raise UpstreamTimeout(NO_ANSWER) from None
        except Exception as exc:
            raise map_litellm_error(exc, self._redactor) from None
        estimate = _Estimate(route.model, request.params)
        return LiteLLMChunkStream(stream, stream_patches, self._redactor, estimate)

    async def embed(self, request: UpstreamRequest) -> Embeddings:
        """Through `litellm.aembedding`, always asking for numbers (not every provider has
        OpenAI's base64 form: the door encodes it). Its keyword arguments are the allow-
        listed parameters and the gateway's own, never another field of the client's."""
        litellm = _litellm()
        route = request.route
        params = {name: value for name, value in request.params.items() if name in _EMBEDDING}
        try:
            async with asyncio.timeout(request.timeout_seconds):
                response = await litellm.aembedding(
                    **params,
                    model=route.model,
                    api_base=route.api_base,
                    api_key=route.api_key.reveal() if route.api_key else None,
                    extra_headers=request.headers or None,
                    extra_body=request.extra_body or None,
                    max_retries=0,
                    num_retries=0,
                )
        except TimeoutError:
            raise UpstreamTimeout(NO_ANSWER) from None
        except Exception as exc:
            raise map_litellm_error(exc, self._redactor) from None
        return checked_embeddings(response.model_dump())

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


def _tool_call(call: Any) -> dict[str, Any]:
    """A tool-call fragment as OpenAI streams it: `id` and `type` only on a call's first
    fragment (LiteLLM repeats `type` on every one)."""
    fragment: dict[str, Any] = call.model_dump(exclude_none=True)
    if "id" not in fragment:
        fragment.pop("type", None)
    return fragment


_THINKING_BLOCK_FIELDS = ("type", "index", "thinking", "signature", "data")


def _thinking_block(block: Any) -> dict[str, Any]:
    """A thinking block's piece as LiteLLM gives it (Anthropic's, Bedrock's and Vertex's
    thinking and redacted thinking), its own fields only."""
    fields = field_values(block)
    return {name: fields[name] for name in _THINKING_BLOCK_FIELDS if name in fields}


def _choice(choice: Any) -> dict[str, Any]:
    fields = field_values(choice)
    source = field_values(fields.get("delta"))
    delta: dict[str, Any] = {}
    for name in STRING_FIELDS:
        value = source.get(name)
        if value is not None:
            delta[name] = value
    tool_calls = source.get("tool_calls")
    if tool_calls:
        delta["tool_calls"] = [_tool_call(call) for call in tool_calls]
    thinking_blocks = source.get("thinking_blocks")
    if thinking_blocks:
        delta["thinking_blocks"] = [_thinking_block(block) for block in thinking_blocks]
    out = {
        "index": fields.get("index", 0),
        "delta": delta,
        "finish_reason": fields.get("finish_reason"),
    }
    logprobs = fields.get("logprobs")
    if logprobs is not None:
        out["logprobs"] = logprobs if isinstance(logprobs, dict) else logprobs.model_dump()
    return out


class _Estimate:
    """LiteLLM's usage estimate, for a provider that reported none: its token counter on
    the prompt and on the streamed text (content, tool-call names and arguments)."""

    __slots__ = ("_model", "_params", "_text")

    def __init__(self, model: str, params: Mapping[str, Any]) -> None:
        self._model = model
        self._params = params
        self._text: list[str] = []

    def add(self, choice: Choice) -> None:
        delta = choice["delta"]
        if "content" in delta:
            self._text.append(delta["content"] or "")
        for call in delta.get("tool_calls") or ():
            function = call.get("function") or {}
            self._text += [function.get("name") or "", function.get("arguments") or ""]

    def usage(self) -> Usage:
        count = _litellm().token_counter
        prompt = count(model=self._model, messages=self._params.get("messages") or [])
        completion = count(model=self._model, text="".join(self._text), count_response_tokens=True)
        return {**NO_USAGE, "input_tokens": prompt, "output_tokens": completion}


class LiteLLMChunkStream(ChunkStream):
    """LiteLLM's stream objects, converted to the gateway's chunk shape.

    Usage is what the provider reported (as LiteLLM translated it: OpenAI's fields, with
    Anthropic's and Bedrock's cache reads and writes in `prompt_tokens_details`), or, when
    it reported none, LiteLLM's estimate from the whole stream (the gateway's own
    `_Estimate` when a `ChunkTail` keeps LiteLLM from seeing the whole stream).
    """

    def __init__(
        self, stream: Any, patches: StreamPatches, redactor: Redactor, estimate: _Estimate
    ) -> None:
        self._stream = stream
        self._patches = patches
        self._tail = patches.apply(stream)
        self._tuned = patches.tune_provider_stream(stream)
        self._iterator = stream.__aiter__()
        self._redactor = redactor
        self._estimate = estimate

    async def __anext__(self) -> Chunk:
        if not self._tuned:
            self._tuned = self._patches.tune_provider_stream(self._stream)
        try:
            item = await self._iterator.__anext__()
        except StopAsyncIteration:
            raise
        except Exception as exc:
            raise map_litellm_error(exc, self._redactor, streaming=True) from None
        try:
            fields = field_values(item)
            choices = [_choice(c) for c in fields.get("choices") or ()]
            raw: dict[str, Any] = {"choices": choices}
            usage = fields.get("usage")
            if usage is not None:
                raw["usage"] = self._usage(usage)
            chunk = checked_chunk(raw)
        except (AttributeError, TypeError, ValueError):  # LiteLLM passed on junk it was sent
            raise UpstreamFailed(WRONG_SHAPE) from None
        for choice in chunk["choices"]:
            self._estimate.add(choice)
        return chunk

    def _usage(self, litellm_s: Any) -> Usage:
        """With a `ChunkTail`, LiteLLM's figure is from the chunks the tail kept: the
        provider's own figure is taken instead, or the gateway's estimate."""
        if self._tail is None:
            return usage_from_chat(usage_dict(litellm_s))
        reported = self._tail.reported_usage
        return usage_from_chat(reported) if reported else self._estimate.usage()

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()
