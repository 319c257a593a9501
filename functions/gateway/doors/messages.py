"""The Anthropic Messages door: `POST /v1/messages` and `/v1/messages/count_tokens`.

Requests to routes whose provider speaks the Messages API pass through untranslated
(`messages_native`); the others are translated into the one internal chat request
(`messages_request`), the chunk stream into Messages events or one message
(`messages_events`). Errors take Anthropic's shape (`messages_errors`). Routing, limits,
keep-alive timing and retries are the shared service's.
"""

from __future__ import annotations

from typing import Any

from gateway.aggregate import CompletionBuilder
from gateway.core.request import ChatRequest
from gateway.doors.base import Door, Reply
from gateway.doors.messages_errors import error_response
from gateway.doors.messages_events import MessageEvents, render_message
from gateway.doors.messages_native import MESSAGES_PASSTHROUGH
from gateway.doors.messages_request import estimate_input_tokens, translate
from gateway.limits.headers import anthropic_headers
from gateway.schema import parse_chat_request

_PARAM_NAMES = {"stop": "stop_sequences", "user": "metadata.user_id"}
"""Chat parameters whose Messages names differ, for the 400s of the chat schema."""


def _messages_name(param: str) -> str:
    return _PARAM_NAMES.get(param, param)


class MessagesDoor(Door[ChatRequest]):
    name = "messages"
    id_prefix = "msg_"
    passthrough = MESSAGES_PASSTHROUGH

    def parse(self, body: object) -> ChatRequest:
        """Translate, then hold the chat body to the chat schema's limits (the same for
        every door); what no route can honour is left out (and logged by the service)."""
        chat, left_out = translate(body)
        parse_chat_request(chat, _messages_name)
        stream = chat.get("stream") is True
        return ChatRequest(
            body=chat,
            model=chat["model"],
            stream=stream,
            include_usage=stream,
            left_out=frozenset(left_out),
            claude_fields=True,
        )

    def stream_format(self, reply: Reply, request: ChatRequest) -> MessageEvents:
        return MessageEvents(reply, estimate_input_tokens(request.body))

    def render(
        self, builder: CompletionBuilder, reply: Reply, request: ChatRequest
    ) -> dict[str, Any]:
        return render_message(builder, reply)

    error_response = staticmethod(error_response)
    limit_headers = staticmethod(anthropic_headers)

    def count_tokens(self, body: object) -> tuple[str, int]:
        """The model asked for and an estimate of the request's input tokens."""
        chat, _ = translate(body, count_only=True)
        return chat["model"], estimate_input_tokens(chat)


MESSAGES = MessagesDoor()
