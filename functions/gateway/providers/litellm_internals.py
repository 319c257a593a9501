"""Where the gateway reaches into LiteLLM's and the `openai` SDK's internals: every patch
of theirs is here.

Each patch replaces one piece of their machinery, for a reason measured on the benchmark's
LiteLLM route (memory per stream, CPU per chunk, work after the last byte) or for a bound
on what a provider may send, and keeps what the gateway reads the same. Each relies on
attributes that are not those libraries' public API (`create_async_transport`,
`completion_stream`, `chunks`, `logging_obj`, `_cast_to`, ...), so each applies only on
the releases it was measured on (`LITELLM`, `OPENAI`). On any other release it is skipped,
with one warning naming it and the release, and the library works as it does unpatched.
The one exception is the bound on what a provider may send (`bound_transports`): a
safety property, not an optimisation, so it applies on every release, and loading
LiteLLM fails where its hook is gone rather than run the LiteLLM path unbounded.
After an upgrade, `tests/unit/test_litellm_wrappers.py` and the
`tests/integration/test_litellm_*.py` files show whether each patch still takes effect;
then widen its range.

Imported with the LiteLLM provider, never at start (it imports the `openai` SDK).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx
import openai._models as openai_models
from openai.types.chat import ChatCompletionChunk
from pydantic import ValidationError

from gateway.observability import logger
from gateway.providers.bounded import BoundedTransport


@dataclass(frozen=True, slots=True)
class Measured:
    """The releases of a library a patch was measured on, `first` and `last` included."""

    package: str
    first: str
    last: str

    def covers(self, version: str | None) -> bool:
        release = _release(version or "")
        return bool(release) and _release(self.first) <= release <= _release(self.last)


LITELLM = Measured("litellm", "1.110.2", "1.110.2")
"""LiteLLM as pinned in `layers/dependencies/requirements.txt`."""
OPENAI = Measured("openai", "3.57.0", "3.57.0")
"""The `openai` SDK as locked in `layers/dependencies/constraints.txt`."""


def _release(version: str) -> tuple[int, ...]:
    """A version's release numbers (`1.110.2.post1` -> (1, 110, 2)); () if it has none."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(part) for part in match[0].split(".")) if match else ()


def installed_version(package: str) -> str | None:
    """The installed release of `package` (read once, as the patches are installed)."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def bound_transports(litellm: ModuleType) -> None:
    """Wrap every transport LiteLLM's `AsyncHTTPHandler` creates in a `BoundedTransport`
    (the handler builds the clients of both LiteLLM's own providers and the `openai` SDK
    it uses for OpenAI-style ones), so that the LiteLLM path has the direct path's bounds.
    Applied on every release (an ImportError or AttributeError here stops LiteLLM from
    loading: no LiteLLM route is served unbounded).
    """
    from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

    create = AsyncHTTPHandler.create_async_transport
    if getattr(create, "bounded", False):
        return

    def create_bounded(*args: Any, **kwargs: Any) -> httpx.AsyncBaseTransport:
        inner = create(*args, **kwargs)
        if inner is None:  # LiteLLM leaves httpx's default transport in place
            verify = kwargs.get("ssl_context") or kwargs.get("ssl_verify") is not False
            inner = httpx.AsyncHTTPTransport(verify=verify)
        return BoundedTransport(inner)

    create_bounded.bounded = True  # type: ignore[attr-defined]
    AsyncHTTPHandler.create_async_transport = staticmethod(create_bounded)


def skip_cost_of_unread_streams(litellm: ModuleType) -> None:
    """Skip LiteLLM's cost of a stream that has not been read yet.

    As `acompletion` returns a stream, LiteLLM prices it for the stream's hidden
    parameters: with no usage in hand yet, it counts the prompt's tokens, and the first
    count loads tiktoken's `cl100k_base` vocabulary, about 40 MB of RSS for the life of the
    process (measured: 203 MB after importing LiteLLM, 252 MB after the first `open`, of
    which 39 MB that import). Nothing reads that figure: the gateway takes usage from the
    stream's chunks, LiteLLM's callbacks are off, and the end of a stream is priced from
    its own usage. Every other cost calculation is LiteLLM's own; token counts for usage
    estimates still load the vocabulary when a provider reports no usage.
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


def release_import_leftovers(litellm: ModuleType) -> None:
    """Let go of what importing LiteLLM keeps but never reads.

    `litellm.utils` parses its bundled Claude tokenizer (a 2 MB JSON file) at import and
    keeps both the text it makes of it (`claude_json_str`, which its Anthropic tokenizer
    loads) and the parsed dicts (`json_data`), which nothing reads: 13 MB of Python
    objects, 7 MB of the process's RSS once released (measured after `import litellm`).
    """
    utils = vars(litellm).get("utils")
    if utils is not None and hasattr(utils, "json_data"):
        del utils.json_data


def no_proxy_audio(litellm: ModuleType) -> None:
    """LiteLLM's native Messages interface reads its streams with a module of its proxy
    that imports `soundfile` (for audio transcription logging, never used here), a
    dependency of the proxy's extras only: where it is not installed, an empty module
    stands in for it, so that the import succeeds."""
    if "soundfile" not in sys.modules and importlib.util.find_spec("soundfile") is None:
        sys.modules["soundfile"] = ModuleType("soundfile")


def field_values(model: Any) -> Mapping[str, Any]:
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


def usage_dict(usage: Any) -> dict[str, Any]:
    """LiteLLM's usage (a dict or a pydantic object) as a dict."""
    return usage if isinstance(usage, dict) else usage.model_dump(exclude_none=True)


class ChunkTail(list[Any]):
    """Stands in for the list in which LiteLLM's stream wrapper keeps every chunk.

    The wrapper holds each chunk (a pydantic object, about a kilobyte) until the stream
    ends, to rebuild the whole response for its usage figure, which also delays the end
    of the stream. In 1.110.2 it looks back only two chunks (`raise_on_model_repetition`,
    its guard against a model repeating one chunk; older releases sliced the last 100);
    the rebuild needs the first chunk and those that carry usage. So only those are kept:
    the rebuild costs next to nothing, and a stream's memory no longer grows with its
    length.
    """

    __slots__ = ("reported_usage",)

    def __init__(self, chunks: list[Any]) -> None:
        super().__init__()
        self.reported_usage: dict[str, Any] | None = None
        for chunk in chunks:
            self.append(chunk)

    def append(self, chunk: Any) -> None:
        usage = field_values(chunk).get("usage")
        if usage is not None:
            self.reported_usage = usage_dict(usage)
        super().append(chunk)
        if len(self) > 3 and field_values(self[-3]).get("usage") is None:
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


class _ValidatedChunk(ChatCompletionChunk):
    """What the SDK's stream is told to build: it builds a type through the type's own
    `build` when it has one (the SDK's `ModelBuilderProtocol`)."""

    @classmethod
    def build(cls, *, response: Any, data: object) -> object:
        try:
            return ChatCompletionChunk.model_validate(data)
        except ValidationError:  # a provider's own values: built as the SDK builds them
            return openai_models.construct_type(type_=ChatCompletionChunk, value=data)


def validate_chunks(sdk_stream: Any) -> None:
    """Have the `openai` SDK validate each chunk of its stream rather than construct it.

    The SDK's `AsyncStream` turns each event into a `ChatCompletionChunk` with its
    `construct_type`, a walk over the model's type hints in Python: about 60 µs a chunk,
    where pydantic's validator (in Rust) takes 3 µs and gives an equal object. Measured on
    the benchmark's LiteLLM route, in-process: 200 -> 123 µs of CPU per chunk. A chunk that
    does not validate (a provider's own `object` or `finish_reason`, say) is constructed
    as before, so LiteLLM sees what it always saw.
    """
    if getattr(sdk_stream, "_cast_to", None) is ChatCompletionChunk:
        sdk_stream._cast_to = _ValidatedChunk


async def _skipped(*args: Any, **kwargs: Any) -> None:
    """Stands in for LiteLLM's end-of-stream work (see `nothing_after_the_end`)."""


def nothing_after_the_end(stream: Any) -> None:
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


class _Fence:
    """Whether a patch applies on the installed releases: each release read once, each
    patch turned down logged once, as a warning."""

    def __init__(self) -> None:
        self._installed: dict[str, str | None] = {}

    def allows(self, patch: str, measured: Measured) -> bool:
        if measured.package not in self._installed:
            self._installed[measured.package] = installed_version(measured.package)
        version = self._installed[measured.package]
        if measured.covers(version):
            return True
        logger.warning(
            "library patch not applied",
            extra={
                "patch": patch,
                "package": measured.package,
                "installed": version,
                "measured_on": f"{measured.first} to {measured.last}",
            },
        )
        return False


@dataclass(frozen=True, slots=True)
class StreamPatches:
    """The patches to each LiteLLM stream that apply on the installed releases."""

    chunk_tail: bool
    one_iterator: bool
    validated_chunks: bool
    no_work_after_the_end: bool

    def apply(self, stream: Any) -> ChunkTail | None:
        """Patch a stream LiteLLM has just opened; its `ChunkTail`, if it has one."""
        if self.no_work_after_the_end:
            nothing_after_the_end(stream)
        if not self.chunk_tail:
            return None
        tail = stream.chunks = ChunkTail(stream.chunks)
        return tail

    def tune_provider_stream(self, stream: Any) -> bool:
        """Once LiteLLM's stream wrapper has its provider stream (some providers' streams
        open it on the first read), read it through a `OneIterator` and, when it is the
        SDK's, with validated chunks; whether that is done."""
        inner = getattr(stream, "completion_stream", None)
        if type(inner) is OneIterator or not (self.one_iterator or self.validated_chunks):
            return True
        if inner is None or not hasattr(inner, "__aiter__"):
            return False
        if self.validated_chunks:
            validate_chunks(inner)
        if self.one_iterator:
            stream.completion_stream = OneIterator(inner)
        return True


def install(litellm: ModuleType) -> StreamPatches:
    """Apply the patches to LiteLLM as a whole (once, as it is imported); which of the
    patches to each stream apply."""
    bound_transports(litellm)
    fence = _Fence()
    for patch in (skip_cost_of_unread_streams, release_import_leftovers, no_proxy_audio):
        if fence.allows(patch.__name__, LITELLM):
            patch(litellm)
    return StreamPatches(
        chunk_tail=fence.allows(ChunkTail.__name__, LITELLM),
        one_iterator=fence.allows(OneIterator.__name__, LITELLM),
        validated_chunks=fence.allows(validate_chunks.__name__, OPENAI),
        no_work_after_the_end=fence.allows(nothing_after_the_end.__name__, LITELLM),
    )
