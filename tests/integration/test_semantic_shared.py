"""The semantic tier on a shared store: a question stored by one gateway process is
found, verified and answered by another, through one DynamoDB item per tenant and
partition (moto's server emulates the table)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from tests.integration.test_cache_shared import QUIET
from tests.support import fake_upstream as fake
from tests.support.dynamodb import aws_env, create_cache_table, dynamodb_server
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY, gateway_env
from tests.support.servers import serve_process


@pytest.fixture(scope="module")
def two_gateways(upstream: FakeUpstream) -> Iterator[tuple[str, str]]:
    with dynamodb_server() as endpoint:
        create_cache_table(endpoint, "llm-gateway-semantic")
        env = gateway_env(upstream.url, GATEWAY_CACHE_TTL_SECONDS="300")
        models = json.loads(env["GATEWAY_MODELS"])
        models["direct"]["semantic_cache"] = True
        env["GATEWAY_MODELS"] = json.dumps(models)
        env |= aws_env(endpoint) | {"GATEWAY_CACHE_URL": "dynamodb://llm-gateway-semantic"} | QUIET
        with ExitStack() as stack:
            (one, _), (other, _) = (stack.enter_context(serve_process(env)) for _ in range(2))
            yield one, other


def ask(url: str, system: str, question: str, stream: bool) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        headers={"authorization": f"Bearer {TENANT_KEY}"},
        json={
            "model": "direct",
            "stream": stream,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": question},
            ],
        },
        timeout=30,
    )


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
def test_a_paraphrase_hits_in_another_process_and_a_near_miss_does_not(
    two_gateways: tuple[str, str], upstream: FakeUpstream, stream: bool
) -> None:
    one, other = two_gateways
    system = f"session {uuid.uuid4().hex}"
    upstream.scripts["scripted"] = fake.text(["Jane Austen"])

    stored = ask(one, system, "Who wrote Pride and Prejudice?", stream)
    paraphrase = ask(other, system, "Who is the author of Pride and Prejudice?", stream)
    near_miss = ask(other, system, "Who wrote Sense and Sensibility?", stream)

    assert stored.headers["x-gateway-cache"] == "miss"
    assert paraphrase.headers["x-gateway-cache"] == "hit"
    assert paraphrase.headers["x-gateway-cache-match"] == "semantic"
    assert "Jane Austen" in paraphrase.text
    assert near_miss.headers["x-gateway-cache"] == "miss"
    assert len(upstream.requests) == 2
