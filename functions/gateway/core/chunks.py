"""The internal chunk stream: what every provider produces and every door consumes.

A *chunk* is an OpenAI `chat.completion.chunk` object without the four fields the gateway
owns (`id`, `object`, `created`, `model`): `choices` (each with `index`, `delta`,
`finish_reason`), and `usage` (the gateway's own `Usage`, not OpenAI's) or other provider
fields when present. Providers that speak another protocol translate into this shape;
`chunk_shape.checked_chunk` holds every chunk to it where it enters the gateway, so
nothing downstream checks it again.
"""

from __future__ import annotations

from typing import Any, Final, Literal, NotRequired, Protocol, Required, TypedDict, TypeVar

TextField = Literal["content", "reasoning_content", "refusal"]
TEXT_FIELDS: Final[tuple[TextField, ...]] = ("content", "reasoning_content", "refusal")
"""The delta fields whose pieces make up text: the answer, its reasoning, a refusal."""
StringField = Literal["role", TextField]
STRING_FIELDS: Final[tuple[StringField, ...]] = ("role", *TEXT_FIELDS)
"""Every delta field that is a string (or null)."""


class FunctionDelta(TypedDict, total=False):
    name: str | None
    arguments: str | None


class ToolCallDelta(TypedDict, total=False):
    """A fragment of a tool call: `id` (and `type`) only on the call's first fragment."""

    index: int
    id: str | None
    type: str
    function: FunctionDelta


class ThinkingBlockDelta(TypedDict, total=False):
    """A piece of one of the answer's thinking blocks, as LiteLLM streams them (and its
    proxy's clients read them): `index` says which block; a `thinking` block's text comes
    in pieces (also as `reasoning_content`), its `signature` whole, once; a
    `redacted_thinking` block's opaque `data` whole. The provider needs the blocks back,
    byte for byte, on the next turn."""

    type: Literal["thinking", "redacted_thinking"]
    index: int
    thinking: str
    signature: str | None
    data: str


class Delta(TypedDict, total=False):
    role: str | None
    content: str | None
    reasoning_content: str | None
    refusal: str | None
    tool_calls: list[ToolCallDelta] | None
    thinking_blocks: list[ThinkingBlockDelta] | None


class Choice(TypedDict, total=False):
    index: int
    delta: Delta
    finish_reason: str | None
    logprobs: dict[str, Any] | None


UsageCount = Literal["input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens"]
USAGE_COUNTS: Final[tuple[UsageCount, ...]] = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
)
"""The four counts of `Usage`, each billed at a price of its own."""


class Usage(TypedDict):
    """What the provider billed for one answer, in four counts that never overlap, so that
    each can be priced on its own (`gateway.core.usage` fills it from a provider's report;
    each door renders it in its own vocabulary)."""

    input_tokens: int
    """Input read at the full price: neither read from the prompt cache nor written to it."""
    cache_read_tokens: int
    """Input read from the provider's prompt cache."""
    cache_write_tokens: int
    """Input written to the provider's prompt cache."""
    output_tokens: int
    """Output, reasoning included."""
    reasoning_tokens: NotRequired[int]
    """Of the output, the reasoning: only when the provider reports it."""


class Chunk(TypedDict, total=False):
    choices: Required[list[Choice]]
    usage: Usage | None
    system_fingerprint: str | None


ItemT_co = TypeVar("ItemT_co", covariant=True)


class EventSource(Protocol[ItemT_co]):
    """An open stream of what a provider sends: chunks (`ChunkStream`), or the events of
    a protocol passed through untranslated (bytes). `aclose()` releases it (the upstream
    connection); the gateway always calls it.

    Streams subclass this to inherit the hooks' defaults.
    """

    __slots__ = ()

    def __aiter__(self) -> EventSource[ItemT_co]:
        return self

    async def __anext__(self) -> ItemT_co: ...

    def ready(self) -> bool:
        """Whether the next chunk is already in hand, so that the gateway can send a burst
        of events in one write. Default: never known."""
        return False

    async def aclose(self) -> None: ...


class ChunkStream(EventSource[Chunk], Protocol):
    """An open stream of chunks."""

    __slots__ = ()

    def __aiter__(self) -> ChunkStream:
        return self
