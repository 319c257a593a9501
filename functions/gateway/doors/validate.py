"""Path-aware checks of a client's JSON, for the doors that translate their own requests.

A 400 names the offending field by its path in the client's request
(`messages[2].content[0].source.type`), in OpenAI's wording, which both SDK families show
as is: "Invalid value for '<path>': expected <what>."
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from gateway.errors import InvalidRequest

TOOL_NAME_MAX = 64
"""The longest function name OpenAI takes (and so the chat schema, `gateway.schema`)."""


def invalid(path: str, detail: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid value for '{path}': {detail}", param=path)


def expect_body(body: object) -> dict[str, Any]:
    """A request body: a JSON object the gateway can write back (orjson reads 1024 levels
    of nesting but writes only 254), since it is hashed and sent on."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    try:
        orjson.dumps(body)
    except orjson.JSONEncodeError:
        raise InvalidRequest("The request body is nested too deeply.") from None
    return body


def _checker(kind: type, expected: str) -> Callable[[object, str], Any]:
    def check(value: object, path: str) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise invalid(path, f"expected {expected}.")
        return value

    return check


expect_object: Callable[[object, str], dict[str, Any]] = _checker(dict, "an object")
expect_array: Callable[[object, str], list[Any]] = _checker(list, "an array")
expect_string: Callable[[object, str], str] = _checker(str, "a string")
expect_boolean: Callable[[object, str], bool] = _checker(bool, "a boolean")
expect_integer: Callable[[object, str], int] = _checker(int, "an integer")


def expect_number(value: object, path: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise invalid(path, f"expected a number from {low:g} to {high:g}.")
    return value


def expect_tool_name(value: object, path: str) -> str:
    """A client tool's name as the chat schema takes it, checked under the door's own path:
    the schema would name the translated tool, whose index shifts when a door leaves a
    tool out. Worded as the schema's own 400."""
    name = expect_string(value, path)
    if not name:
        raise invalid(path, "String should have at least 1 character.")
    if len(name) > TOOL_NAME_MAX:
        raise invalid(path, f"String should have at most {TOOL_NAME_MAX} characters.")
    return name
