"""The OpenAI Responses door: `POST /v1/responses`, streamed and not.

Requests to routes whose provider serves the Responses API pass through untranslated
(`responses_native`). For the others, the request is translated into a chat-completions
body (`responses_request`), served by the shared completion service like any chat
request, and the chunk stream is turned into Responses events or a response object
(`responses_events`). Errors before the first byte are OpenAI's error shape, as on the
chat endpoint.

What the response object repeats of the request travels in the request itself (a
`ResponsesTurn`); where a finished response is kept (`responses_state`) is the endpoint's
`Keep`, which the service awaits before the response's last byte.
"""

from __future__ import annotations

from typing import Any

from gateway.aggregate import CompletionBuilder
from gateway.doors.base import Door, Reply
from gateway.doors.chat import openai_error_response
from gateway.doors.responses_events import ResponseEvents, render_response
from gateway.doors.responses_native import RESPONSES_PASSTHROUGH
from gateway.doors.responses_request import ResponsesTurn, translate


class ResponsesDoor(Door[ResponsesTurn]):
    name = "responses"
    id_prefix = "resp_"
    passthrough = RESPONSES_PASSTHROUGH

    def parse(self, body: object) -> ResponsesTurn:
        return translate(body)

    def stream_format(self, reply: Reply, request: ResponsesTurn) -> ResponseEvents:
        return ResponseEvents(reply, request)

    def render(
        self, builder: CompletionBuilder, reply: Reply, request: ResponsesTurn
    ) -> dict[str, Any]:
        return render_response(builder, reply, request)

    error_response = staticmethod(openai_error_response)


RESPONSES = ResponsesDoor()
