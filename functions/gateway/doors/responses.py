"""The OpenAI Responses door: `POST /v1/responses`, streamed and not.

The request is translated into a chat-completions body (`responses_request`), served by
the shared completion service like any chat request, and the chunk stream is turned into
Responses events or a response object (`responses_events`). Errors before the first byte
are OpenAI's error shape, as on the chat endpoint.

A door object serves one request: it keeps the translated request, which the response
object repeats, and the final response once there is one, for the store.
"""

from __future__ import annotations

from typing import Any

from gateway.aggregate import CompletionBuilder
from gateway.doors.base import ChatRequest, Reply
from gateway.doors.chat import openai_error_response
from gateway.doors.responses_events import ResponseEvents, render_response
from gateway.doors.responses_request import ResponsesTurn, translate


class ResponsesDoor:
    name = "responses"
    id_prefix = "resp_"

    def __init__(self) -> None:
        self.turn: ResponsesTurn | None = None
        self._events: ResponseEvents | None = None
        self._rendered: dict[str, Any] | None = None

    def parse(self, body: object) -> ChatRequest:
        self.turn = translate(body)
        return self.turn.chat

    def _turn(self) -> ResponsesTurn:
        assert self.turn is not None, "parse() comes first"
        return self.turn

    def stream_format(self, reply: Reply, request: ChatRequest) -> ResponseEvents:
        self._events = ResponseEvents(reply, self._turn())
        return self._events

    def render(self, builder: CompletionBuilder, reply: Reply) -> dict[str, Any]:
        self._rendered = render_response(builder, reply, self._turn())
        return self._rendered

    @property
    def final(self) -> dict[str, Any] | None:
        """The finished response object (None until the response ended, or if it failed)."""
        return self._events.final if self._events is not None else self._rendered

    error_response = staticmethod(openai_error_response)
