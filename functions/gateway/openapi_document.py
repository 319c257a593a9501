"""The OpenAPI document: FastAPI's, plus what it cannot infer, imported and built only when
it is first asked for (`gateway.openapi`).

The doors read their bodies by hand (size limit, strict checks of the client's own JSON),
so FastAPI infers none of them. Each is described here as precisely as its door checks it
(types, required fields, the values it accepts), so that the fuzz tests, which generate
requests from the document, send what a door must accept and what it must refuse. Fields
a door passes on or leaves out are allowed everywhere (`additionalProperties` stays open),
as the doors allow them. The chat body is the chat schema's own (`gateway.schema`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gateway.schema import ChatCompletionRequest

CHAT_COMPLETIONS = "/v1/chat/completions"
RESPONSES = "/v1/responses"
MESSAGES = "/v1/messages"
COUNT_TOKENS = "/v1/messages/count_tokens"
EMBEDDINGS = "/v1/embeddings"

Schema = dict[str, Any]


def build_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with every door's request body and the two ways to give a key."""
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    chat = ChatCompletionRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(chat.pop("$defs"))
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer"},
        "x-api-key": {"type": "apiKey", "in": "header", "name": "x-api-key"},
    }
    bodies = {
        CHAT_COMPLETIONS: ("ChatCompletionRequest", chat),
        RESPONSES: ("ResponsesRequest", _responses_request()),
        MESSAGES: ("MessagesRequest", _messages_request(count_only=False)),
        COUNT_TOKENS: ("MessagesCountTokensRequest", _messages_request(count_only=True)),
        EMBEDDINGS: ("EmbeddingsRequest", _embeddings_request()),
    }
    for path, (name, body) in bodies.items():
        schemas[name] = body
        operation = schema["paths"].setdefault(path, {}).setdefault("post", _operation(path))
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    return schema


def _operation(path: str) -> dict[str, Any]:
    """An operation for an endpoint FastAPI leaves out (Anthropic's, which take either key)."""
    return {
        "operationId": path.removeprefix("/v1/").replace("/", "_"),
        "security": [{"bearer": []}, {"x-api-key": []}],
        "responses": {"200": {"description": "Successful Response"}},
    }


# --- builders, so that the bodies below read like the API reference ----------------------

STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}
INTEGER: Schema = {"type": "integer"}
OBJECT: Schema = {"type": "object"}


def _object(*required: str, **properties: Schema) -> Schema:
    """An object with `properties`, of which `required` must be present."""
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _enum(*values: str) -> Schema:
    """A string that is one of `values`."""
    return {"type": "string", "enum": list(values)}


def _null(schema: Schema) -> Schema:
    """`schema`, or null: the doors read null as absent."""
    return {"anyOf": [schema, {"type": "null"}]}


def _array(items: Schema, **limits: int) -> Schema:
    return {"type": "array", "items": items, **limits}


def _either(*schemas: Schema) -> Schema:
    return {"anyOf": list(schemas)}


def _number(low: float, high: float) -> Schema:
    return {"type": "number", "minimum": low, "maximum": high}


MODEL: Schema = {"type": "string", "minLength": 1, "maxLength": 256}
FUNCTION_NAME: Schema = {"type": "string", "minLength": 1, "maxLength": 64}
"""What the chat schema holds every door's model and function names to."""


# --- POST /v1/responses (doors/responses_request.py) -------------------------------------


def _responses_request() -> Schema:
    text_part = _object("type", "text", type=_enum("input_text", "output_text"), text=STRING)
    output_part = _either(
        _object("type", "text", type=_enum("output_text"), text=STRING),
        _object("type", "refusal", type=_enum("refusal"), refusal=STRING),
    )
    input_part = _either(
        text_part,
        _object(
            "type", "image_url", type=_enum("input_image"), image_url=STRING, detail=_null(STRING)
        ),
        _object(
            "type", "file_data", type=_enum("input_file"), file_data=STRING, filename=_null(STRING)
        ),
    )
    item = _either(
        _object(
            "role",
            "content",
            type=_enum("message"),
            role=_enum("user", "system", "developer"),
            content=_either(STRING, _array(input_part)),
        ),
        _object(
            "role",
            "content",
            type=_enum("message"),
            role=_enum("assistant"),
            content=_either(STRING, _array(output_part)),
        ),
        _object(
            "type",
            "call_id",
            "name",
            "arguments",
            type=_enum("function_call"),
            call_id=STRING,
            name=STRING,
            arguments=STRING,
        ),
        _object(
            "type",
            "call_id",
            "output",
            type=_enum("function_call_output"),
            call_id=STRING,
            output=_either(STRING, _array(text_part)),
        ),
        # The provider's own reasoning: kept with a stored conversation, never sent.
        _object("type", type=_enum("reasoning")),
    )
    tool = _either(
        _object(
            "type",
            "name",
            type=_enum("function"),
            name=FUNCTION_NAME,
            description=_null(STRING),
            parameters=_null(OBJECT),
            strict=_null(BOOLEAN),
        ),
        # Built-in tools: accepted and left out (no route behind the gateway runs them).
        _object(
            "type",
            type=_enum(
                "web_search",
                "web_search_preview",
                "file_search",
                "code_interpreter",
                "computer_use_preview",
                "image_generation",
                "mcp",
                "local_shell",
            ),
        ),
    )
    text_format = _either(
        _object("type", type=_enum("text", "json_object")),
        _object(
            "type",
            type=_enum("json_schema"),
            name=STRING,
            schema=OBJECT,
            strict=_null(BOOLEAN),
            description=STRING,
        ),
    )
    return _object(
        "model",
        "input",
        model=MODEL,
        input=_either(STRING, _array(item)),
        instructions=_null(STRING),
        stream=_null(BOOLEAN),
        store=BOOLEAN,
        previous_response_id=_null(STRING),
        tools=_null(_array(tool)),
        tool_choice=_null(
            _either(
                _enum("none", "auto", "required"),
                _object("type", "name", type=_enum("function"), name=STRING),
            )
        ),
        parallel_tool_calls=_null(BOOLEAN),
        text=_null(_object(format=_null(text_format), verbosity=_null(STRING))),
        reasoning=_null(_object(effort=_null(STRING), summary=_null(STRING))),
        max_output_tokens=_null({"type": "integer", "minimum": 1}),
        temperature=_null(_number(0, 2)),
        top_p=_null(_number(0, 1)),
        top_logprobs=_null({"type": "integer", "minimum": 0, "maximum": 20}),
        metadata=_null({"type": "object", "additionalProperties": STRING}),
        user=_null(STRING),
    )


# --- POST /v1/messages and /v1/messages/count_tokens (doors/messages_request.py) ---------


def _messages_request(count_only: bool) -> Schema:
    """Anthropic's Messages body; `count_tokens` takes the same without `max_tokens`."""
    text = _object("type", "text", type=_enum("text"), text=STRING)
    image = _object(
        "type",
        "source",
        type=_enum("image"),
        source=_either(
            _object(
                "type", "media_type", "data", type=_enum("base64"), media_type=STRING, data=STRING
            ),
            _object("type", "url", type=_enum("url"), url=STRING),
        ),
    )
    document = _object(
        "type",
        "source",
        type=_enum("document"),
        title=_null(STRING),
        source=_either(
            _object("type", "data", type=_enum("text"), data=STRING),
            _object(
                "type",
                "media_type",
                "data",
                type=_enum("base64"),
                media_type=_enum("application/pdf"),
                data=STRING,
            ),
        ),
    )
    tool_result = _object(
        "type",
        "tool_use_id",
        type=_enum("tool_result"),
        tool_use_id=STRING,
        content=_either(STRING, _array(_either(text, image, document))),
        is_error=_null(BOOLEAN),
    )
    tool_use = _object(
        "type", "id", "name", "input", type=_enum("tool_use"), id=STRING, name=STRING, input=OBJECT
    )
    # Blocks only Anthropic produces and reads back (thinking, server tools' calls and
    # results): accepted in earlier turns and left out.
    anthropic_only = _object(
        "type",
        type={
            "type": "string",
            "pattern": "^(thinking|redacted_thinking|server_tool_use|container_upload"
            "|[a-z_]+_tool_result)$",
        },
    )
    message = _either(
        _object(
            "role",
            "content",
            role=_enum("user"),
            content=_either(
                STRING, _array(_either(text, image, document, tool_result, anthropic_only))
            ),
        ),
        _object(
            "role",
            "content",
            role=_enum("assistant"),
            content=_either(STRING, _array(_either(text, tool_use, anthropic_only))),
        ),
        _object("role", "content", role=_enum("system"), content=_either(STRING, _array(text))),
    )
    tool = _either(
        _object(
            "name",
            "input_schema",
            type=_null(_enum("custom")),
            name=FUNCTION_NAME,
            input_schema=OBJECT,
            description=STRING,
            strict=BOOLEAN,
        ),
        # Anthropic's own tools (`web_search_20250305`, `bash_20250124`, ...): left out.
        _object(
            "type",
            "name",
            type={"type": "string", "pattern": "^[a-z_]+_[0-9]{8}$"},
            name=STRING,
        ),
    )
    tool_choice = _either(
        _object(
            "type", type=_enum("auto", "any", "none"), disable_parallel_tool_use=_null(BOOLEAN)
        ),
        _object(
            "type",
            "name",
            type=_enum("tool"),
            name=STRING,
            disable_parallel_tool_use=_null(BOOLEAN),
        ),
    )
    thinking = _either(
        _object("type", "budget_tokens", type=_enum("enabled"), budget_tokens=INTEGER),
        # `disabled`, and Anthropic's `adaptive` (left out).
        _object("type", type=_enum("disabled", "adaptive")),
    )
    output_config = _object(
        format=_null(_object("type", "schema", type=_enum("json_schema"), schema=OBJECT))
    )
    required = ("model", "messages") if count_only else ("model", "max_tokens", "messages")
    return _object(
        *required,
        model=MODEL,
        max_tokens={"type": "integer", "minimum": 1},
        messages=_array(message, minItems=1),
        system=_null(_either(STRING, _array(text))),
        stream=_null(BOOLEAN),
        stop_sequences=_null(_array(STRING, maxItems=4)),
        temperature=_null(_number(0, 1)),
        top_p=_null(_number(0, 1)),
        top_k=_null(INTEGER),
        metadata=_null(_object(user_id=_null(STRING))),
        tools=_null(_array(tool)),
        tool_choice=_null(tool_choice),
        thinking=_null(thinking),
        output_config=_null(output_config),
    )


# --- POST /v1/embeddings (doors/embeddings.py) -------------------------------------------


def _embeddings_request() -> Schema:
    """One kind of input: a string, strings, a token array or token arrays."""
    tokens = _array(INTEGER, minItems=1)
    return _object(
        "model",
        "input",
        model=MODEL,
        input=_either(STRING, _array(STRING, minItems=1), tokens, _array(tokens, minItems=1)),
        encoding_format=_null(_enum("float", "base64")),
        dimensions=_null({"type": "integer", "minimum": 1}),
        user=_null(STRING),
    )
