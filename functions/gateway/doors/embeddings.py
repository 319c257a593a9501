"""The OpenAI embeddings door: `POST /v1/embeddings`, OpenAI's request, answer and errors.

Its answer is one JSON body, not the chunk stream, so it is a `FrontDoor` with a parse and
a render of its own; tenants, routes, the parameter allow-list, retry and fallback and the
request log are the completion service's (`CompletionService.embed`), as for every door.
Fields it does not name pass on to the provider as body fields, as on the chat door.
"""

from __future__ import annotations

import sys
from array import array
from base64 import b64decode, b64encode
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.core.embeddings import Embeddings, Vector
from gateway.core.usage import all_input_tokens, total_tokens
from gateway.doors.base import FrontDoor
from gateway.doors.chat import openai_error_response
from gateway.doors.validate import (
    expect_body,
    expect_integer,
    expect_string,
    invalid,
)

_LITTLE_ENDIAN = sys.byteorder == "little"
_INPUT = "a string, an array of strings, an array of tokens or an array of token arrays"
MAX_INPUTS = 2048
"""Inputs per request, as OpenAI allows: each is a vector to answer, and 4 MiB of
one-letter strings would be a million of them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EmbeddingRequest:
    """A validated embeddings body (`gateway.core.request.ClientRequest`)."""

    body: dict[str, Any]
    model: str
    base64: bool
    """`encoding_format: "base64"`: vectors in OpenAI's base64 form, else as numbers."""
    stream: bool = False
    include_usage: bool = False


class EmbeddingsDoor(FrontDoor):
    name = "embeddings"
    id_prefix = "emb-"

    def parse(self, body: object) -> EmbeddingRequest:
        """Check the fields OpenAI defines; the 400 names the first one that is wrong."""
        body = expect_body(body)
        model = expect_string(body.get("model"), "model")
        if not 1 <= len(model) <= 256:
            raise invalid("model", "expected a string of 1 to 256 characters.")
        _check_input(body.get("input"))
        encoding_format = body.get("encoding_format") or "float"
        if encoding_format not in ("float", "base64"):
            raise invalid("encoding_format", "expected 'float' or 'base64'.")
        dimensions = body.get("dimensions")
        if dimensions is not None and expect_integer(dimensions, "dimensions") < 1:
            raise invalid("dimensions", "expected an integer of at least 1.")
        if body.get("user") is not None:
            expect_string(body["user"], "user")
        return EmbeddingRequest(body=body, model=model, base64=encoding_format == "base64")

    def render(self, answer: Embeddings, request: EmbeddingRequest, model: str) -> bytes:
        """OpenAI's list of embeddings, each in the form the client asked for."""
        form = as_base64 if request.base64 else as_floats
        data = [
            {"object": "embedding", "index": index, "embedding": form(vector)}
            for index, vector in enumerate(answer.vectors)
        ]
        usage = {
            "prompt_tokens": all_input_tokens(answer.usage),
            "total_tokens": total_tokens(answer.usage),
        }
        return orjson.dumps({"object": "list", "data": data, "model": model, "usage": usage})

    error_response = staticmethod(openai_error_response)


def _check_input(value: object) -> None:
    """A string, or a non-empty array of strings, of tokens (integers) or of non-empty
    token arrays: one kind, so that every item is one input."""
    if isinstance(value, str):
        return
    if not isinstance(value, list) or not value:
        raise invalid("input", f"expected {_INPUT}.")
    if isinstance(value[0], list | str) and len(value) > MAX_INPUTS:
        raise invalid("input", f"expected at most {MAX_INPUTS} inputs.")
    if isinstance(value[0], list):
        for index, tokens in enumerate(value):
            if not isinstance(tokens, list) or not tokens:
                raise invalid(f"input[{index}]", "expected a non-empty array of tokens.")
            _check_tokens(tokens, f"input[{index}]")
    elif isinstance(value[0], str):
        for index, text in enumerate(value):
            expect_string(text, f"input[{index}]")
    else:
        _check_tokens(value, "input")


def _check_tokens(tokens: list[Any], path: str) -> None:
    if not all(type(token) is int for token in tokens):
        index = next(i for i, token in enumerate(tokens) if type(token) is not int)
        raise invalid(f"{path}[{index}]", "expected a token (an integer).")


def as_floats(vector: Vector) -> list[float]:
    """The numbers of a vector in either form."""
    if isinstance(vector, list):
        return vector
    values = array("f", b64decode(vector))
    if not _LITTLE_ENDIAN:
        values.byteswap()
    return values.tolist()


def as_base64(vector: Vector) -> str:
    """A vector in OpenAI's base64 form: its values as little-endian float32, encoded."""
    if isinstance(vector, str):
        return vector
    values = array("f", vector)
    if not _LITTLE_ENDIAN:
        values.byteswap()
    return b64encode(values.tobytes()).decode("ascii")


EMBEDDINGS = EmbeddingsDoor()
