"""The OpenAI Responses door: `POST /v1/responses`, streamed and not.

The request is translated into a chat-completions body (`responses_request`), served by
the shared completion service like any chat request, and the chunk stream is turned into
Responses events or a response object (`responses_events`). Errors before the first byte
are OpenAI's error shape, as on the chat endpoint.

A door object serves one request: it keeps the translated request, which the response
object repeats, and hands the finished response to `keep` (the store) when one is set.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from gateway.aggregate import CompletionBuilder
from gateway.core.request import ChatRequest
from gateway.doors.base import Reply
from gateway.doors.chat import openai_error_response
from gateway.doors.responses_events import ResponseEvents, render_response
from gateway.doors.responses_request import ResponsesTurn, translate

KeepTurn = Callable[[ResponsesTurn, dict[str, Any]], Awaitable[None]]


class ResponsesDoor:
    name = "responses"
    id_prefix = "resp_"

    def __init__(self) -> None:
        self.turn: ResponsesTurn | None = None
        self.keep: KeepTurn | None = None
        """Set when responses are stored: called with each finished response."""
        self._rendered: dict[str, Any] | None = None

    def parse(self, body: object) -> ChatRequest:
        self.turn = translate(body)
        return self.turn.chat

    def _turn(self) -> ResponsesTurn:
        assert self.turn is not None, "parse() comes first"
        return self.turn

    def stream_format(self, reply: Reply, request: ChatRequest) -> ResponseEvents:
        turn, keep = self._turn(), self.keep
        if keep is None:
            return ResponseEvents(reply, turn)

        async def keep_final(response: dict[str, Any]) -> None:
            await keep(turn, response)

        return ResponseEvents(reply, turn, keep_final)

    def render(self, builder: CompletionBuilder, reply: Reply) -> dict[str, Any]:
        self._rendered = render_response(builder, reply, self._turn())
        return self._rendered

    async def keep_rendered(self) -> None:
        """Keep the non-streamed response, if there is one (before it is sent)."""
        if self.keep is not None and self._rendered is not None:
            await self.keep(self._turn(), self._rendered)

    error_response = staticmethod(openai_error_response)
