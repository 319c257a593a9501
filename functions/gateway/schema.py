"""The chat-completions request, validated before anything is sent upstream.

Validation is strict (no coercion of "1" to 1) because the client's own JSON, not a
coerced copy, is what reaches the provider. Fields the schema does not name are allowed
and passed through: providers accept extensions (`top_k`, `reasoning_effort`, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from gateway.doors.validate import TOOL_NAME_MAX, expect_body
from gateway.errors import InvalidRequest

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class FunctionCall(_Open):
    name: str
    arguments: str


class ToolCall(_Open):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Open):
    role: Role
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None


class FunctionDefinition(_Open):
    name: Annotated[str, Field(min_length=1, max_length=TOOL_NAME_MAX)]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Open):
    type: Literal["function"]
    function: FunctionDefinition


class StreamOptions(_Open):
    include_usage: bool | None = None


class ChatCompletionRequest(_Open):
    model: Annotated[str, Field(min_length=1, max_length=256)]
    messages: Annotated[list[Message], Field(min_length=1)]
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    n: Annotated[int, Field(ge=1, le=1)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    presence_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    seed: int | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    user: str | None = None


_FIELD_NAMES = frozenset(
    name
    for model in (
        ChatCompletionRequest,
        Message,
        ToolCall,
        FunctionCall,
        Tool,
        FunctionDefinition,
        StreamOptions,
    )
    for name in model.model_fields
)


MAX_ITEMS = 20_000
"""Messages, their content parts and tool calls, and tools, in one request (after a door's
translation). Everything after validation that walks a request's items runs on the event
loop, some of it outside the gateway (LiteLLM's translation: about 2 µs a message, 0.5 s
for a 4 MiB body of small messages): 20,000 bounds that to a few tens of milliseconds.
Real conversations carry far fewer: a 4 MiB body of Claude Code's or Codex's turns, whose
items are hundreds of bytes to kilobytes, holds a few thousand."""

SLICE = 512
"""Messages validated per call into pydantic-core, which holds the GIL for a whole call:
on a thread (`gateway.off_loop`) the event loop waits at most one slice (about 2-4 ms)."""

_MESSAGES: TypeAdapter[list[Message]] = TypeAdapter(list[Message])


def _param(loc: tuple[int | str, ...]) -> str:
    """`("messages", 0, "role")` → `messages[0].role`, as OpenAI names parameters."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _same(param: str) -> str:
    return param


def parse_chat_request(
    body: object, name: Callable[[str], str] = _same
) -> tuple[ChatCompletionRequest, dict[str, Any]]:
    """Validate a parsed JSON body; the 400 names the first offending field, by `name`
    (a door that translated the body gives the field's name in its own request). Returns
    the validated view and the body itself (what is forwarded).

    Messages past the first `SLICE` are validated a slice at a time (the view holds the
    first slice only), and the 400 is the one a single validation would give: the first
    error in the schema's order, where `model` and `messages` come first."""
    body = expect_body(body)
    messages = body.get("messages")
    rest: list[Any] = []
    if isinstance(messages, list):
        _check_count(messages, body.get("tools"), name)
        messages, rest = messages[:SLICE], messages[SLICE:]
    try:
        view = ChatCompletionRequest.model_validate(
            {**body, "messages": messages} if rest else body
        )
    except ValidationError as exc:
        loc, message = _first(exc)
        if loc[:1] not in (("model",), ("messages",)):
            _check_messages(rest, name)
        raise _invalid(loc, message, name) from None
    _check_messages(rest, name)
    return view, body


def _check_count(messages: list[Any], tools: object, name: Callable[[str], str]) -> None:
    """`MAX_ITEMS`, counted before anything is validated (types are checked after); about
    0.1 µs a message, unrolled: a tenth of its validation."""
    count = len(messages) + (len(tools) if isinstance(tools, list) else 0)
    for message in messages if count <= MAX_ITEMS else ():
        if type(message) is dict:
            content = message.get("content")
            if type(content) is list:
                count += len(content)
            calls = message.get("tool_calls")
            if type(calls) is list:
                count += len(calls)
    if count > MAX_ITEMS:
        param = name("messages")
        raise InvalidRequest(
            f"Invalid value for '{param}': a request may hold at most {MAX_ITEMS} messages, "
            "content parts, tool calls and tools together.",
            param=param,
        )


def _check_messages(rest: list[Any], name: Callable[[str], str]) -> None:
    """Validate `messages[SLICE:]`, one slice per call."""
    for start in range(0, len(rest), SLICE):
        try:
            _MESSAGES.validate_python(rest[start : start + SLICE])
        except ValidationError as exc:
            (index, *inner), message = _first(exc)
            loc = ("messages", SLICE + start + int(index), *inner)
            raise _invalid(loc, message, name) from None


def _first(exc: ValidationError) -> tuple[tuple[int | str, ...], str]:
    """Where the first error is, without the union-member tags pydantic adds ("str",
    "list[str]", ...), and what it says."""
    first = exc.errors(include_url=False, include_input=False)[0]
    loc = tuple(p for p in first["loc"] if isinstance(p, int) or p in _FIELD_NAMES)
    return loc, first["msg"]


def _invalid(
    loc: tuple[int | str, ...], message: str, name: Callable[[str], str]
) -> InvalidRequest:
    param = name(_param(loc))
    return InvalidRequest(f"Invalid value for '{param}': {message}.", param=param)
