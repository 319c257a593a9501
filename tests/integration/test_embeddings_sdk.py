"""`POST /v1/embeddings` with the official `openai` SDK against the gateway under uvicorn.

Every behaviour is checked on both provider paths, the direct one (`POST /embeddings` with
the gateway's own client) and LiteLLM (`aembedding`), against the same fake upstream, and
on the built-in echo model. The SDK asks for base64 unless told otherwise and decodes it:
both forms are checked through the SDK and on the wire.
"""

from __future__ import annotations

import base64
import json
import time
from array import array
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from gateway.config import Settings
from gateway.observability import logger
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream, fake_vector
from tests.support.gateway import OTHER_TENANT_KEY, PROVIDER_KEY, TENANT_KEY, gateway_env
from tests.support.servers import serve

ROUTES = ["embed-direct", "embed-litellm"]
UPSTREAM_MODEL = "text-embedding-3-small"
RESPONSE_LIMIT = 64 * 1024


def _route(**options: Any) -> dict[str, Any]:
    return {"model": f"openai/{UPSTREAM_MODEL}", "api_key_env": "FAKE_PROVIDER_KEY", **options}


@pytest.fixture(scope="module")
def gateway(upstream: FakeUpstream) -> Iterator[str]:
    models = {
        "echo": {"model": "echo"},
        "embed-direct": _route(api_base=upstream.url),
        "embed-litellm": _route(api_base=upstream.url, provider="litellm"),
        "embed-container": _route(api_base=upstream.url, allow={"features": ["container"]}),
        "embed-flaky": {
            "model": "openai/flaky",
            "api_base": upstream.url,
            "fallback": "embed-direct",
        },
    }
    env = gateway_env(
        upstream.url,
        GATEWAY_MODELS=json.dumps(models),
        GATEWAY_MAX_EMBEDDINGS_RESPONSE_BYTES=str(RESPONSE_LIMIT),
    )
    with serve(Settings.from_env(env)) as url:
        yield url


@pytest.fixture
def sdk(gateway: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway + "/v1", api_key=TENANT_KEY, max_retries=0)


def post(gateway: str, body: dict[str, Any], key: str = TENANT_KEY) -> httpx.Response:
    return httpx.post(
        f"{gateway}/v1/embeddings", headers={"authorization": f"Bearer {key}"}, json=body
    )


def request_log(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The request log lines of the embeddings door, once there is one (the server runs
    in another thread)."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not any(
        r.getMessage() == "embeddings" for r in caplog.records
    ):
        time.sleep(0.02)
    output = "\n".join(logger.registered_formatter.format(r) for r in caplog.records)
    return [json.loads(text) for text in output.splitlines() if '"embeddings"' in text]


def float32(encoded: str) -> list[float]:
    return array("f", base64.b64decode(encoded)).tolist()


@pytest.mark.parametrize("model", ROUTES)
def test_float_vectors_with_the_public_model_name_and_usage(
    sdk: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    result = sdk.embeddings.create(model=model, input="hello world", encoding_format="float")

    assert [d.embedding for d in result.data] == [fake_vector(0, 3)]
    assert [(d.index, d.object) for d in result.data] == [(0, "embedding")]
    assert (result.object, result.model) == ("list", model)
    assert (result.usage.prompt_tokens, result.usage.total_tokens) == (1, 1)
    sent = upstream.last()
    assert sent.path == "/v1/embeddings"
    assert sent.body["model"] == UPSTREAM_MODEL
    assert sent.body["input"] in ("hello world", ["hello world"])
    assert sent.headers["authorization"] == f"Bearer {PROVIDER_KEY}"


@pytest.mark.parametrize("model", ROUTES)
def test_base64_on_the_wire_is_little_endian_float32(gateway: str, model: str) -> None:
    response = post(gateway, {"model": model, "input": ["a", "b"], "encoding_format": "base64"})

    assert response.status_code == 200
    vectors = [item["embedding"] for item in response.json()["data"]]
    assert all(isinstance(vector, str) for vector in vectors)
    assert [float32(vector) for vector in vectors] == [fake_vector(0, 3), fake_vector(1, 3)]


@pytest.mark.parametrize("model", ROUTES)
def test_the_sdk_default_asks_for_base64_and_decodes_it(
    sdk: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    raw = sdk.embeddings.with_raw_response.create(model=model, input="hi")
    assert isinstance(json.loads(raw.content)["data"][0]["embedding"], str)
    result = raw.parse()

    assert [d.embedding for d in result.data] == [fake_vector(0, 3)]
    if model == "embed-direct":  # the direct path asks the provider for the same form
        assert upstream.last().body["encoding_format"] == "base64"


@pytest.mark.parametrize("model", ROUTES)
def test_dimensions_and_user_reach_the_provider(
    sdk: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    result = sdk.embeddings.create(model=model, input="hi", dimensions=5, user="u-1")

    assert [len(d.embedding) for d in result.data] == [5]
    assert upstream.last().body["dimensions"] == 5
    assert upstream.last().body["user"] == "u-1"


@pytest.mark.parametrize("model", ROUTES)
def test_a_list_of_strings_gets_one_vector_each_in_order(
    sdk: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    result = sdk.embeddings.create(model=model, input=["one", "two", "three"])

    assert [d.index for d in result.data] == [0, 1, 2]
    assert [d.embedding for d in result.data] == [fake_vector(i, 3) for i in range(3)]
    assert upstream.last().body["input"] == ["one", "two", "three"]


@pytest.mark.parametrize("model", ROUTES)
@pytest.mark.parametrize("tokens", [[[1, 2, 3], [4, 5]], [7, 8, 9]])
def test_token_arrays_reach_the_provider_as_sent(
    sdk: openai.OpenAI, upstream: FakeUpstream, model: str, tokens: Any
) -> None:
    result = sdk.embeddings.create(model=model, input=tokens)

    assert len(result.data) == (2 if isinstance(tokens[0], list) else 1)
    assert upstream.last().body["input"] == tokens
    assert result.usage.prompt_tokens == (5 if isinstance(tokens[0], list) else 3)


def test_a_model_outside_the_tenants_allow_list_is_not_found(gateway: str) -> None:
    client = openai.OpenAI(base_url=gateway + "/v1", api_key=OTHER_TENANT_KEY, max_retries=0)

    with pytest.raises(openai.NotFoundError) as caught:
        client.embeddings.create(model="embed-direct", input="hi")

    assert caught.value.body == {
        "message": "The model 'embed-direct' does not exist or you do not have access to it.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }
    assert client.embeddings.create(model="echo", input="hi").data


@pytest.mark.parametrize("model", ROUTES)
@pytest.mark.parametrize("field", ["api_base", "extra_headers", "litellm_logging_obj", "timeout"])
def test_a_transport_shaped_field_is_refused(
    sdk: openai.OpenAI, upstream: FakeUpstream, model: str, field: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.embeddings.create(model=model, input="hi", extra_body={field: "http://127.0.0.1:9"})

    assert caught.value.body["param"] == field  # type: ignore[index]
    assert upstream.requests == []


@pytest.mark.parametrize("model", ROUTES)
def test_a_field_the_door_does_not_name_reaches_the_provider_as_a_body_field(
    sdk: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    sdk.embeddings.create(model=model, input="hi", extra_body={"input_type": "query"})

    assert upstream.last().body["input_type"] == "query"


@pytest.mark.parametrize("model", ROUTES)
@pytest.mark.parametrize("field", ["mcp_servers", "container"])
def test_a_field_the_route_does_not_allow_is_refused(
    sdk: openai.OpenAI, upstream: FakeUpstream, model: str, field: str
) -> None:
    with pytest.raises(openai.PermissionDeniedError) as caught:
        sdk.embeddings.create(model=model, input="hi", extra_body={field: {"id": "x"}})

    assert caught.value.body == {  # type: ignore[comparison-overlap]
        "message": f"'{field}' is not allowed on this model.",
        "type": "invalid_request_error",
        "param": field,
        "code": "not_allowed_on_route",
    }
    assert upstream.requests == []


def test_a_field_the_route_allows_reaches_the_provider(
    sdk: openai.OpenAI, upstream: FakeUpstream
) -> None:
    sdk.embeddings.create(model="embed-container", input="hi", extra_body={"container": "c"})

    assert upstream.last().body["container"] == "c"


@pytest.mark.parametrize("model", ROUTES)
def test_the_providers_refusal_reaches_the_client_in_openais_shape(
    sdk: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts[UPSTREAM_MODEL] = fake.error(400, "This model does not support embeddings")

    with pytest.raises(openai.BadRequestError) as caught:
        sdk.embeddings.create(model=model, input="hi")

    error = caught.value.body
    assert isinstance(error, dict)
    assert error["code"] == "upstream_invalid_request"
    assert error["message"].endswith("This model does not support embeddings")
    assert set(error) == {"message", "type", "param", "code"}


@pytest.mark.parametrize("declared", [True, False])
def test_an_oversized_answer_is_cut_off_with_a_clean_error(
    gateway: str, upstream: FakeUpstream, declared: bool
) -> None:
    big = b'{"data": [{"index": 0, "embedding": [' + b"0.125, " * RESPONSE_LIMIT + b"0]}]}"
    headers = {"content-length": str(len(big))} if declared else {}
    upstream.scripts[UPSTREAM_MODEL] = fake.Script(body=big, headers=headers)

    response = post(gateway, {"model": "embed-direct", "input": "hi"})

    assert response.status_code == 502
    assert response.json() == {
        "error": {
            "message": "The provider's answer is larger than the gateway accepts.",
            "type": "api_error",
            "param": None,
            "code": "upstream_error",
        }
    }


@pytest.mark.parametrize(
    "answer",
    [
        b"not json",
        b'{"data": [{"index": 0, "embedding": ["x"]}]}',
        b'{"data": [{"index": 0, "embedding": "not base64!"}]}',
        b'{"data": [{"index": 1, "embedding": [0.5]}]}',
        b'{"data": [{"index": 0, "embedding": [0.5]}, {"index": 0, "embedding": [0.5]}]}',
    ],
)
def test_an_answer_that_is_not_embeddings_is_a_clean_error(
    gateway: str, upstream: FakeUpstream, answer: bytes
) -> None:
    upstream.scripts[UPSTREAM_MODEL] = fake.Script(body=answer)

    response = post(gateway, {"model": "embed-direct", "input": "hi"})

    assert response.status_code == 502
    assert response.json()["error"]["message"] == (
        "The provider sent an embeddings answer the gateway cannot read."
    )


def test_a_failing_route_falls_back_before_the_first_byte(
    sdk: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.scripts["flaky"] = fake.error(503, "down")

    result = sdk.embeddings.create(model="embed-flaky", input="hi")

    assert result.model == "embed-direct"
    assert [r.body["model"] for r in upstream.requests] == ["flaky", UPSTREAM_MODEL]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "hi"}, "model"),
        ({"model": "echo"}, "input"),
        ({"model": "echo", "input": []}, "input"),
        ({"model": "echo", "input": [1, "a"]}, "input[1]"),
        ({"model": "echo", "input": [[1], []]}, "input[1]"),
        ({"model": "echo", "input": ["a", 2]}, "input[1]"),
        ({"model": "echo", "input": ["a"] * 2049}, "input"),
        ({"model": "echo", "input": [[1]] * 2049}, "input"),
        ({"model": "echo", "input": "a", "encoding_format": "int8"}, "encoding_format"),
        ({"model": "echo", "input": "a", "dimensions": 0}, "dimensions"),
        ({"model": "echo", "input": "a", "dimensions": "8"}, "dimensions"),
        ({"model": "echo", "input": "a", "user": 1}, "user"),
    ],
)
def test_an_invalid_request_is_a_400_naming_the_field(
    gateway: str, body: dict[str, Any], param: str
) -> None:
    response = post(gateway, body)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_2048_inputs_are_the_most_a_request_may_carry(gateway: str) -> None:
    assert post(gateway, {"model": "echo", "input": ["a"] * 2048}).status_code == 200

    response = post(gateway, {"model": "echo", "input": ["a"] * 2049})

    assert response.json()["error"] == {
        "message": "Invalid value for 'input': expected at most 2048 inputs.",
        "type": "invalid_request_error",
        "param": "input",
        "code": "invalid_request",
    }


def test_a_body_nested_too_deeply_to_send_on_is_a_400(gateway: str) -> None:
    nested: Any = "x"
    for _ in range(300):
        nested = [nested]

    response = post(gateway, {"model": "echo", "input": "a", "extension": nested})

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The request body is nested too deeply."


def test_a_client_that_leaves_is_logged_as_gone(
    gateway: str, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    upstream.scripts[UPSTREAM_MODEL] = fake.Script(embed=True, delay_headers=1.0)

    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{gateway}/v1/embeddings",
            headers={"authorization": f"Bearer {TENANT_KEY}"},
            json={"model": "embed-direct", "input": "hi"},
            timeout=0.3,
        )

    [line] = request_log(caplog)
    assert (line["status"], line.get("client_disconnected")) == (499, True)


def test_the_echo_model_embeds_deterministically_without_keys(sdk: openai.OpenAI) -> None:
    first = sdk.embeddings.create(model="echo", input=["alpha", "beta"])
    again = sdk.embeddings.create(model="echo", input=["alpha", "beta"], encoding_format="float")
    short = sdk.embeddings.create(model="echo", input="alpha", dimensions=4)

    vectors = [d.embedding for d in first.data]
    assert [len(v) for v in vectors] == [8, 8]
    assert vectors[0] != vectors[1]
    assert all(abs(sum(x * x for x in v) - 1) < 1e-6 for v in vectors)  # unit vectors
    # float32 on the wire for base64, full precision for float: the same numbers
    assert all(
        abs(a - b) < 1e-6
        for va, vb in zip(vectors, (d.embedding for d in again.data), strict=True)
        for a, b in zip(va, vb, strict=True)
    )
    assert len(short.data[0].embedding) == 4
    assert (first.model, first.usage.prompt_tokens) == ("echo", 2)


def test_one_request_log_line_with_hashes_and_no_input_text(
    gateway: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "my-confidential-embedding-input"

    response = post(gateway, {"model": "embed-direct", "input": [secret, secret]})

    [line] = request_log(caplog)
    output = "\n".join(logger.registered_formatter.format(r) for r in caplog.records)
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["tenant_id_hash"] == response.headers["x-gateway-tenant-hash"]
    assert line["context_hash"] == response.headers["x-gateway-context-hash"]
    assert (line["status"], line["model"], line["served_by"]) == (
        200,
        "embed-direct",
        "embed-direct",
    )
    counts = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")
    assert [line[count] for count in counts] == [2, 0, 0, 0]
    for text in (secret, TENANT_KEY, PROVIDER_KEY):
        assert text not in output
