"""An Anthropic Messages request, checked and translated into a chat-completions body.

The translation keeps what every route can honour and leaves out, naming them in the
log, the fields no chat-completions provider can (context management, Anthropic's own
tools, ...): clients such as Claude Code send them on every request and are served, not
refused. Claude's own fields (`cache_control` breakpoints, earlier thinking blocks with
their signatures, `thinking` itself) are carried where LiteLLM maps them for Claude
routes, and left out for the others by `gateway.claude_fields`. A 400 names the
offending field by its path in the client's request (`messages[2].content[0].source.type`).
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from gateway.doors.validate import (
    expect_array,
    expect_boolean,
    expect_integer,
    expect_number,
    expect_object,
    expect_string,
    expect_tool_name,
    invalid,
)
from gateway.errors import InvalidRequest

_KNOWN_FIELDS = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "system",
        "stream",
        "stop_sequences",
        "temperature",
        "top_p",
        "top_k",
        "metadata",
        "tools",
        "tool_choice",
        "thinking",
        "output_config",
        "cache_control",
    }
)
"""Top-level fields the translation reads; any other is left out and logged."""

_ANTHROPIC_ONLY_BLOCKS = frozenset(
    {"thinking", "redacted_thinking", "server_tool_use", "container_upload"}
)
"""Blocks of earlier turns that only Anthropic produces and reads back."""

_TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}

BILLING_HEADER = "x-anthropic-billing-header:"

IMAGE_TOKENS = 1600
"""What one image or document counts in the token estimate (about a 1.2 MP image)."""
CHARS_PER_TOKEN = 4
MESSAGE_TOKENS = 4
"""Per-message overhead in the estimate (role and separators)."""


def translate(request: object, *, count_only: bool = False) -> tuple[dict[str, Any], set[str]]:
    """The chat body for an Anthropic Messages body, and the names of what was left out.

    `count_only` is for `count_tokens`, whose requests carry no `max_tokens`.
    """
    translator = _Translator()
    return translator.request(expect_object(request, "body"), count_only), translator.left_out


def estimate_input_tokens(chat: dict[str, Any]) -> int:
    """About how many tokens a chat body's prompt is: characters / 4, plus a fixed cost
    per message and per image or document.

    No tokenizer is loaded: nothing may be fetched at run time, and every provider
    counts differently anyway. On prose, Python and a Claude Code request it came out
    within 15% of OpenAI's `o200k_base` counts (see the README).
    """
    chars = 0
    tokens = 0
    for message in chat["messages"]:
        tokens += MESSAGE_TOKENS
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            for part in content:
                if part["type"] == "text":
                    chars += len(part["text"])
                else:
                    tokens += IMAGE_TOKENS
        for call in message.get("tool_calls", ()):
            chars += len(call["function"]["name"]) + len(call["function"]["arguments"])
    if "tools" in chat:
        chars += len(orjson.dumps(chat["tools"]))
    return tokens + math.ceil(chars / CHARS_PER_TOKEN)


class _Translator:
    """One request's translation; collects the names of what it leaves out."""

    def __init__(self) -> None:
        self.left_out: set[str] = set()

    def request(self, body: dict[str, Any], count_only: bool) -> dict[str, Any]:
        """Optional fields sent as `null` count as absent, as they do for Anthropic."""
        chat: dict[str, Any] = {"model": expect_string(body.get("model"), "model")}
        if not count_only or "max_tokens" in body:
            chat["max_tokens"] = expect_integer(body.get("max_tokens"), "max_tokens")
        system = self.system(body["system"]) if body.get("system") is not None else ""
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
        raw_messages = expect_array(body.get("messages"), "messages")
        if not raw_messages:
            raise InvalidRequest("'messages' must hold at least one message.", param="messages")
        for i, message in enumerate(raw_messages):
            messages += self.message(expect_object(message, f"messages[{i}]"), f"messages[{i}]")
        chat["messages"] = messages
        if body.get("stream") is not None:
            chat["stream"] = expect_boolean(body["stream"], "stream")
        if body.get("stop_sequences") is not None:
            stops = expect_array(body["stop_sequences"], "stop_sequences")
            chat["stop"] = [expect_string(s, f"stop_sequences[{i}]") for i, s in enumerate(stops)]
        for name in ("temperature", "top_p"):
            if body.get(name) is not None:
                chat[name] = expect_number(body[name], name, 0.0, 1.0)
        if body.get("top_k") is not None:
            # Not an OpenAI parameter: it travels as a body field, which vLLM, Together,
            # OpenRouter and LiteLLM's Anthropic routes honour and OpenAI itself refuses.
            chat["top_k"] = expect_integer(body["top_k"], "top_k")
        self.metadata(body.get("metadata"), chat)
        self.tools(body, chat)
        self.thinking(body.get("thinking"), chat)
        if body.get("cache_control") is not None:
            chat["cache_control"] = expect_object(body["cache_control"], "cache_control")
        self.output_config(body.get("output_config"), chat)
        self.left_out.update(name for name in body if name not in _KNOWN_FIELDS)
        return chat

    # --- messages -----------------------------------------------------------------

    def message(self, message: dict[str, Any], path: str) -> list[dict[str, Any]]:
        """One Anthropic message as chat messages (tool results become their own)."""
        role = message.get("role")
        content = message.get("content")
        if role == "system":
            return [{"role": "system", "content": self.text(content, f"{path}.content")}]
        if role not in ("user", "assistant"):
            raise invalid(f"{path}.role", "expected 'user' or 'assistant'.")
        if isinstance(content, str):
            return [{"role": role, "content": content}]
        blocks = expect_array(content, f"{path}.content")
        if role == "assistant":
            return self.assistant(blocks, f"{path}.content")
        return self.user(blocks, f"{path}.content")

    def assistant(self, blocks: list[Any], path: str) -> list[dict[str, Any]]:
        """Text and tool calls as one chat message, earlier thinking as its
        `thinking_blocks` (signatures as sent: Claude needs them back); none when
        nothing else is left (a turn of thinking only)."""
        text: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        thinking: list[dict[str, Any]] = []
        for i, raw in enumerate(blocks):
            block, kind = self.block(raw, f"{path}[{i}]")
            if kind == "text":
                text.append(_user_part(block, kind, f"{path}[{i}]"))
            elif kind == "tool_use":
                calls.append(_cached(block, _tool_call(block, f"{path}[{i}]")))
            elif kind in ("thinking", "redacted_thinking"):
                thinking.append(_thinking_block(block, kind, f"{path}[{i}]"))
            else:
                self.left_out.add(f"{kind} blocks")
        if not text and not calls:
            return []
        content = _collapse(text, "") if text else None
        message: dict[str, Any] = {"role": "assistant", "content": content or None}
        if calls:
            message["tool_calls"] = calls
        if thinking:
            message["thinking_blocks"] = thinking
        return [message]

    def user(self, blocks: list[Any], path: str) -> list[dict[str, Any]]:
        """Tool results first, as chat `tool` messages (chat wants them right after the
        assistant's calls), then the rest of the content as one user message."""
        out: list[dict[str, Any]] = []
        parts: list[dict[str, Any]] = []
        for i, raw in enumerate(blocks):
            block, kind = self.block(raw, f"{path}[{i}]")
            if kind == "tool_result":
                out.append(self.tool_result(block, f"{path}[{i}]", parts))
            elif kind in _ANTHROPIC_ONLY_BLOCKS or kind.endswith("_tool_result"):
                self.left_out.add(f"{kind} blocks")
            else:
                parts.append(_user_part(block, kind, f"{path}[{i}]"))
        if parts or not out:
            out.append({"role": "user", "content": _collapse(parts, "\n")})
        return out

    def tool_result(
        self, block: dict[str, Any], path: str, parts: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """A chat tool message; images in the result go to `parts`, the user message that
        follows, the only place chat-completions takes them. A breakpoint on the result
        stays on the message, those on its text blocks on its parts."""
        content = block.get("content", "")
        texts: list[dict[str, Any]] = []
        if isinstance(content, str):
            texts.append({"type": "text", "text": content})
        else:
            for j, raw in enumerate(expect_array(content, f"{path}.content")):
                inner, kind = self.block(raw, f"{path}.content[{j}]")
                part = _user_part(inner, kind, f"{path}.content[{j}]")
                (texts if part["type"] == "text" else parts).append(part)
        if block.get("is_error") is True:
            first = texts[0] if texts else {"type": "text", "text": ""}
            texts = [{**first, "text": "Error: " + first["text"]}, *texts[1:]]
        message = {
            "role": "tool",
            "tool_call_id": expect_string(block.get("tool_use_id"), f"{path}.tool_use_id"),
            "content": _collapse(texts, "\n"),
        }
        return _cached(block, message)

    def system(self, system: object) -> str | list[dict[str, Any]]:
        """The system prompt, without Claude Code's billing header: a line that changes
        with every request, first in the prompt, where it would defeat the provider's
        prompt caching (and the gateway's cache keys). One string unless it holds a
        breakpoint."""
        if isinstance(system, str):
            parts = [{"type": "text", "text": system}]
        else:
            parts = []
            for i, raw in enumerate(expect_array(system, "system")):
                block, kind = self.block(raw, f"system[{i}]")
                if kind != "text":
                    raise _unsupported(kind, f"system[{i}]")
                parts.append(_user_part(block, kind, f"system[{i}]"))
        kept = [part for part in parts if not part["text"].startswith(BILLING_HEADER)]
        if len(kept) < len(parts):
            self.left_out.add(BILLING_HEADER.rstrip(":"))
        return _collapse(kept, "\n\n")

    def text(self, content: object, path: str) -> str:
        """A string, or text blocks joined (system messages)."""
        return "\n\n".join(self.texts(content, path))

    def texts(self, content: object, path: str) -> list[str]:
        if isinstance(content, str):
            return [content]
        texts = []
        for i, raw in enumerate(expect_array(content, path)):
            block, kind = self.block(raw, f"{path}[{i}]")
            if kind != "text":
                raise _unsupported(kind, f"{path}[{i}]")
            texts.append(expect_string(block.get("text"), f"{path}[{i}].text"))
        return texts

    def block(self, raw: object, path: str) -> tuple[dict[str, Any], str]:
        block = expect_object(raw, path)
        return block, expect_string(block.get("type"), f"{path}.type")

    # --- tools, reasoning, metadata -------------------------------------------------

    def tools(self, body: dict[str, Any], chat: dict[str, Any]) -> None:
        """Client tools become functions. Anthropic's own tools (web search, code
        execution, bash, text editor, ...) need Anthropic to run or define them."""
        tools = []
        anthropic_tools: set[str] = set()
        for i, raw in enumerate(expect_array(body.get("tools") or [], "tools")):
            path = f"tools[{i}]"
            tool = expect_object(raw, path)
            name = expect_string(tool.get("name"), f"{path}.name")
            if tool.get("type") not in (None, "custom"):
                anthropic_tools.add(name)
                self.left_out.add(f"tool {name}")
                continue
            function: dict[str, Any] = {
                "name": expect_tool_name(name, f"{path}.name"),
                "parameters": expect_object(tool.get("input_schema"), f"{path}.input_schema"),
            }
            if isinstance(tool.get("description"), str):
                function["description"] = tool["description"]
            if isinstance(tool.get("strict"), bool):
                function["strict"] = tool["strict"]
            tools.append(_cached(tool, {"type": "function", "function": function}))
        if tools:
            chat["tools"] = tools
        if body.get("tool_choice") is not None:
            _tool_choice(expect_object(body["tool_choice"], "tool_choice"), chat, anthropic_tools)

    def thinking(self, thinking: object, chat: dict[str, Any]) -> None:
        """Carried as the client sent it (Claude routes take it as it is; the others a
        `reasoning_effort`, see `gateway.claude_fields`)."""
        if thinking is None:
            return
        thinking = expect_object(thinking, "thinking")
        if thinking.get("type") == "enabled":
            expect_integer(thinking.get("budget_tokens"), "thinking.budget_tokens")
        chat["thinking"] = thinking

    def output_config(self, config: object, chat: dict[str, Any]) -> None:
        """`format` (structured output) becomes `response_format`; the rest is left out."""
        if config is None:
            return
        config = expect_object(config, "output_config")
        if config.get("format") is not None:
            output_format = expect_object(config["format"], "output_config.format")
            schema = expect_object(output_format.get("schema"), "output_config.format.schema")
            chat["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": schema},
            }
        self.left_out.update(f"output_config.{name}" for name in config if name != "format")

    def metadata(self, metadata: object, chat: dict[str, Any]) -> None:
        if metadata is None:
            return
        metadata = expect_object(metadata, "metadata")
        if metadata.get("user_id") is not None:
            chat["user"] = expect_string(metadata["user_id"], "metadata.user_id")
        self.left_out.update(f"metadata.{name}" for name in metadata if name != "user_id")


def _tool_call(block: dict[str, Any], path: str) -> dict[str, Any]:
    arguments = expect_object(block.get("input"), f"{path}.input")
    return {
        "id": expect_string(block.get("id"), f"{path}.id"),
        "type": "function",
        "function": {
            "name": expect_string(block.get("name"), f"{path}.name"),
            "arguments": orjson.dumps(arguments).decode(),
        },
    }


def _tool_choice(choice: dict[str, Any], chat: dict[str, Any], anthropic_tools: set[str]) -> None:
    kind = choice.get("type")
    if kind == "tool":
        name = expect_string(choice.get("name"), "tool_choice.name")
        if name in anthropic_tools:
            raise InvalidRequest(
                f"tool_choice forces the tool '{name}', which only Anthropic can run; the "
                "gateway serves client tools only.",
                param="tool_choice.name",
            )
        chat["tool_choice"] = {"type": "function", "function": {"name": name}}
    elif isinstance(kind, str) and kind in _TOOL_CHOICES:
        chat["tool_choice"] = _TOOL_CHOICES[kind]
    else:
        raise invalid("tool_choice.type", "expected 'auto', 'any', 'tool' or 'none'.")
    if "tools" not in chat:
        del chat["tool_choice"]  # chat providers refuse a tool_choice without tools
    elif choice.get("disable_parallel_tool_use") is True:
        chat["parallel_tool_calls"] = False


def _user_part(block: dict[str, Any], kind: str, path: str) -> dict[str, Any]:
    if kind == "text":
        part = {"type": "text", "text": expect_string(block.get("text"), f"{path}.text")}
    elif kind == "image":
        part = _image(block, path)
    elif kind == "document":
        part = _document(block, path)
    else:
        raise _unsupported(kind, path)
    return _cached(block, part)


def _cached(block: dict[str, Any], translated: dict[str, Any]) -> dict[str, Any]:
    """`translated` with the block's `cache_control` breakpoint, if it has one."""
    if block.get("cache_control") is not None:
        translated["cache_control"] = block["cache_control"]
    return translated


def _thinking_block(block: dict[str, Any], kind: str, path: str) -> dict[str, Any]:
    """A thinking block as LiteLLM takes it back: the fields Claude checks, as sent."""
    if kind == "redacted_thinking":
        return {"type": kind, "data": expect_string(block.get("data"), f"{path}.data")}
    out = {"type": kind, "thinking": expect_string(block.get("thinking"), f"{path}.thinking")}
    if block.get("signature") is not None:
        out["signature"] = expect_string(block["signature"], f"{path}.signature")
    return out


def _image(block: dict[str, Any], path: str) -> dict[str, Any]:
    source = expect_object(block.get("source"), f"{path}.source")
    kind = source.get("type")
    if kind == "base64":
        media_type = expect_string(source.get("media_type"), f"{path}.source.media_type")
        data = expect_string(source.get("data"), f"{path}.source.data")
        url = f"data:{media_type};base64,{data}"
    elif kind == "url":
        url = expect_string(source.get("url"), f"{path}.source.url")
    else:
        raise invalid(f"{path}.source.type", "images are accepted as 'base64' or 'url' sources.")
    return {"type": "image_url", "image_url": {"url": url}}


def _document(block: dict[str, Any], path: str) -> dict[str, Any]:
    source = expect_object(block.get("source"), f"{path}.source")
    kind = source.get("type")
    if kind == "text":
        return {"type": "text", "text": expect_string(source.get("data"), f"{path}.source.data")}
    if kind == "base64" and source.get("media_type") == "application/pdf":
        data = expect_string(source.get("data"), f"{path}.source.data")
        title = block.get("title")
        return {
            "type": "file",
            "file": {
                "filename": title if isinstance(title, str) else "document.pdf",
                "file_data": f"data:application/pdf;base64,{data}",
            },
        }
    raise invalid(f"{path}.source", "documents are accepted as plain text or base64 PDF sources.")


def _unsupported(kind: str, path: str) -> InvalidRequest:
    return invalid(f"{path}.type", f"'{kind}' blocks are not supported here.")


def _collapse(parts: list[dict[str, Any]], separator: str) -> str | list[dict[str, Any]]:
    """Text-only content without breakpoints as one string: every chat provider takes
    that, not every one takes a list of parts."""
    if all(part["type"] == "text" and "cache_control" not in part for part in parts):
        return separator.join(part["text"] for part in parts)
    return parts
