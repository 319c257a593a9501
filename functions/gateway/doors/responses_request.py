"""A Responses API request (`POST /v1/responses`) translated into a chat-completions body.

The translated body is then validated by the chat schema and split by `gateway.params`
like any chat request, so both endpoints share one set of limits and one allow-list of
what reaches a provider. Fields this module does not know are copied into the chat body
unchanged: they are handled exactly as the chat endpoint handles unknown fields.

Built-in tools (web search, file search, ...) cannot run behind a chat-completions
provider: they are left out of what the provider sees, and logged; forcing one with
`tool_choice` is a 400 that names it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from gateway.core.request import ChatRequest
from gateway.doors.responses_reasoning import thinking_blocks
from gateway.doors.validate import expect_string, expect_tool_name, invalid
from gateway.errors import InvalidRequest
from gateway.schema import parse_chat_request

log = logging.getLogger(__name__)

CONSUMED = frozenset(
    {
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "text",
        "reasoning",
        "max_output_tokens",
        # Served by the gateway itself, not by the provider:
        "store",
        "metadata",
        "previous_response_id",
        # Accepted and ignored: nothing is truncated, no built-in tool runs, no reasoning is
        # encrypted, the stream is not obfuscated, and client metadata is for the client.
        "include",
        "client_metadata",
        "truncation",
        "max_tool_calls",
        "stream_options",
        # Refused below when set.
        "background",
        "conversation",
        "prompt",
    }
)

ECHOED: dict[str, Any] = {
    "instructions": None,
    "metadata": {},
    "tools": [],
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "temperature": None,
    "top_p": None,
    "max_output_tokens": None,
    "previous_response_id": None,
    "reasoning": None,
    "text": None,
    "user": None,
    "store": True,
}
"""Request fields a response object repeats, with the value when the request had none."""

_ROLES = {"user": "user", "system": "system", "developer": "system", "assistant": "assistant"}
# `developer` becomes `system`: OpenAI treats the two alike, and many providers behind a
# chat-completions API know only `system`.

_CHAT_PARAM_NAMES = {
    "max_completion_tokens": "max_output_tokens",
    "response_format": "text.format",
    "reasoning_effort": "reasoning.effort",
    "verbosity": "text.verbosity",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponsesTurn(ChatRequest):
    """One translated Responses request: the chat request, and what only this door uses."""

    echo: dict[str, Any]
    """The request fields the response object repeats (`ECHOED`)."""
    store: bool
    """Whether the response may be kept for `GET /v1/responses/{id}` and follow-ups."""
    input_items: list[Any]
    """The request's input as items (a string input becomes one user message)."""


def translate(body: object) -> ResponsesTurn:
    """Translate and validate a Responses request; the 400 names the Responses field."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    for name in ("background", "conversation", "prompt"):
        if body.get(name):
            raise InvalidRequest(
                f"'{name}' is not supported by this gateway.", param=name, code="unsupported"
            )
    store = body.get("store", True)
    if not isinstance(store, bool):
        raise invalid("store", "expected a boolean.")
    items = input_items(body.get("input"))
    chat: dict[str, Any] = {name: v for name, v in body.items() if name not in CONSUMED}
    conversation = _Conversation()
    chat["messages"] = conversation.messages(body.get("instructions"), items)
    left_out = frozenset(conversation.left_out)
    if body.get("tools") is not None:
        chat["tools"], dropped = _tools(body["tools"])
        left_out |= dropped
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(body["tool_choice"])
    _text_options(body.get("text"), chat)
    _reasoning_options(body.get("reasoning"), chat)
    if body.get("max_output_tokens") is not None:
        chat["max_completion_tokens"] = body["max_output_tokens"]
    if body.get("top_logprobs") is not None:
        chat["logprobs"] = True
    parsed, _ = parse_chat_request(chat, _responses_name)
    stream = bool(parsed.stream)
    return ResponsesTurn(
        body=chat,
        model=parsed.model,
        stream=stream,
        include_usage=stream,
        left_out=left_out,
        claude_fields=conversation.carried_thinking,
        echo={name: body.get(name, default) for name, default in ECHOED.items()},
        store=store,
        input_items=items,
    )


def input_items(value: object) -> list[Any]:
    """The request's `input` as a list of items (a string is one user message)."""
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list):
        raise invalid("input", "expected a string or a list of input items.")
    return value


def _responses_name(param: str) -> str:
    """The Responses field a chat schema error is about."""
    return "input" if param.startswith("messages") else _CHAT_PARAM_NAMES.get(param, param)


class _Conversation:
    """The input items as chat messages. A reasoning item is the provider's own: the
    thinking blocks its `encrypted_content` holds (`responses_reasoning`) go to the next
    assistant message, for the routes that take them back (Claude's); one whose content
    the gateway did not write is left out (and logged), as is one with none (silently:
    then it is only text the provider does not read back)."""

    def __init__(self) -> None:
        self.left_out: set[str] = set()
        self.carried_thinking = False
        self._thinking: list[dict[str, Any]] = []

    def messages(self, instructions: object, items: list[Any]) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        if instructions is not None:
            if not isinstance(instructions, str):
                raise invalid("instructions", "expected a string.")
            messages.append({"role": "system", "content": instructions})
        for i, item in enumerate(items):
            where = f"input[{i}]"
            if not isinstance(item, dict):
                raise invalid(where, "expected an object.")
            kind = item.get("type", "message")
            if kind == "message":
                messages.append(self._with_thinking(_message(item, where)))
            elif kind == "function_call":
                self._add_call(messages, item, where)
            elif kind == "function_call_output":
                output = item.get("output")
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": expect_string(item.get("call_id"), f"{where}.call_id"),
                        "content": output if isinstance(output, str) else _text_of(output, where),
                    }
                )
            elif kind == "reasoning":
                self._reasoning(item)
            else:
                raise InvalidRequest(
                    f"Input items of type '{kind}' are not supported by this gateway.",
                    param=f"{where}.type",
                    code="unsupported",
                )
        return messages

    def _reasoning(self, item: dict[str, Any]) -> None:
        encrypted = item.get("encrypted_content")
        if encrypted is None:
            return
        blocks = thinking_blocks(encrypted)
        if blocks is None:
            self.left_out.add("reasoning items of another provider")
        else:
            self._thinking += blocks

    def _with_thinking(self, message: dict[str, Any]) -> dict[str, Any]:
        if self._thinking and message["role"] == "assistant":
            message.setdefault("thinking_blocks", []).extend(self._thinking)
            self._thinking = []
            self.carried_thinking = True
        return message

    def _add_call(self, messages: list[dict[str, Any]], item: dict[str, Any], where: str) -> None:
        """A `function_call` item joins the assistant message before it, as chat expects
        (parallel calls are one assistant message with several `tool_calls`)."""
        call = {
            "id": expect_string(item.get("call_id"), f"{where}.call_id"),
            "type": "function",
            "function": {
                "name": expect_string(item.get("name"), f"{where}.name"),
                "arguments": expect_string(item.get("arguments"), f"{where}.arguments"),
            },
        }
        last = messages[-1] if messages else None
        if last is not None and last["role"] == "assistant" and not self._thinking:
            last.setdefault("tool_calls", []).append(call)
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        self._with_thinking(messages[-1])


def _message(item: dict[str, Any], where: str) -> dict[str, Any]:
    given = item.get("role")
    role = _ROLES.get(given) if isinstance(given, str) else None
    if role is None:
        raise invalid(f"{where}.role", "expected one of user, assistant, system, developer.")
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if role == "assistant":
        return {"role": role, "content": _text_of(content, where)}
    parts = _parts(content, where)
    if len(parts) == 1 and parts[0]["type"] == "text":
        return {"role": role, "content": parts[0]["text"]}
    return {"role": role, "content": parts}


def _text_of(content: object, where: str) -> str:
    """The text of an assistant message's or a tool output's parts, joined."""
    if not isinstance(content, list):
        raise invalid(f"{where}.content", "expected a string or a list of content parts.")
    texts = []
    for j, part in enumerate(content):
        if not isinstance(part, dict):
            raise invalid(f"{where}.content[{j}]", "expected an object.")
        text = part.get("text", part.get("refusal"))
        if not isinstance(text, str):
            raise invalid(f"{where}.content[{j}]", "expected a text part.")
        texts.append(text)
    return "".join(texts)


def _parts(content: object, where: str) -> list[dict[str, Any]]:
    if not isinstance(content, list):
        raise invalid(f"{where}.content", "expected a string or a list of content parts.")
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        at = f"{where}.content[{j}]"
        if not isinstance(part, dict):
            raise invalid(at, "expected an object.")
        kind = part.get("type")
        if kind in ("input_text", "output_text"):
            parts.append({"type": "text", "text": expect_string(part.get("text"), f"{at}.text")})
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            image = {"url": part["image_url"], "detail": part.get("detail") or "auto"}
            parts.append({"type": "image_url", "image_url": image})
        elif kind == "input_file" and isinstance(part.get("file_data"), str):
            file = {"file_data": part["file_data"], "filename": part.get("filename")}
            parts.append({"type": "file", "file": {k: v for k, v in file.items() if v}})
        else:
            raise InvalidRequest(
                f"Content parts of type '{kind}' are not supported by this gateway (images "
                "need an `image_url`, files their `file_data`).",
                param=f"{at}.type",
                code="unsupported",
            )
    return parts


def _tools(tools: object) -> tuple[list[dict[str, Any]], frozenset[str]]:
    """The function tools, and the other tools (built-in ones) as left out."""
    if not isinstance(tools, list):
        raise invalid("tools", "expected a list of tools.")
    chat_tools = []
    dropped = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise invalid(f"tools[{i}]", "expected an object.")
        if tool.get("type") != "function":
            dropped.append(str(tool.get("type")))
            continue
        function = {"name": expect_tool_name(tool.get("name"), f"tools[{i}].name")}
        for name in ("description", "parameters", "strict"):
            if tool.get(name) is not None:
                function[name] = tool[name]
        chat_tools.append({"type": "function", "function": function})
    return chat_tools, frozenset(f"tool {kind}" for kind in dropped)


def _tool_choice(choice: object) -> object:
    if isinstance(choice, str):
        return choice
    if not isinstance(choice, dict):
        raise invalid("tool_choice", "expected a string or an object.")
    if choice.get("type") == "function":
        return {
            "type": "function",
            "function": {"name": expect_string(choice.get("name"), "tool_choice.name")},
        }
    name = choice.get("name") or choice.get("type")
    raise InvalidRequest(
        f"tool_choice forces '{name}', which this gateway cannot run: it serves function "
        "tools only.",
        param="tool_choice",
        code="unsupported",
    )


def _text_options(text: object, chat: dict[str, Any]) -> None:
    """`text.format` becomes `response_format`, `text.verbosity` becomes `verbosity`."""
    if text is None:
        return
    if not isinstance(text, dict):
        raise invalid("text", "expected an object.")
    if text.get("verbosity") is not None:
        chat["verbosity"] = text["verbosity"]
    form = text.get("format")
    if form is None:
        return
    if not isinstance(form, dict):
        raise invalid("text.format", "expected an object.")
    kind = form.get("type")
    if kind == "json_object":
        chat["response_format"] = {"type": "json_object"}
    elif kind == "json_schema":
        schema = {k: v for k, v in form.items() if k != "type"}
        chat["response_format"] = {"type": "json_schema", "json_schema": schema}
    elif kind != "text":
        raise invalid("text.format.type", "expected text, json_object or json_schema.")


def _reasoning_options(reasoning: object, chat: dict[str, Any]) -> None:
    """`reasoning.effort` becomes `reasoning_effort`; summaries have no chat equivalent."""
    if reasoning is None:
        return
    if not isinstance(reasoning, dict):
        raise invalid("reasoning", "expected an object.")
    if reasoning.get("effort") is not None:
        chat["reasoning_effort"] = reasoning["effort"]
