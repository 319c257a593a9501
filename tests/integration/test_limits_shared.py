"""Three gateway processes sharing one DynamoDB usage table (moto's server, one request
at a time, as DynamoDB applies each item's updates): 60 concurrent streamed requests
against a budget that fits 10 never spend more than the budget, however they interleave."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import httpx
import pytest

from gateway.doors.chat import CHAT_COMPLETIONS
from gateway.limits.estimate import input_token_bound
from tests.support import fake_upstream as fake
from tests.support.dynamodb import aws_env, create_usage_table, dynamodb_server
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import TENANT_KEY, gateway_env
from tests.support.servers import serve_process

QUIET = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
PRICE = {"input": 1, "output": 1}
MAX_TOKENS = 50


@pytest.fixture(scope="module")
def usage_table() -> Iterator[dict[str, str]]:
    with dynamodb_server(serial=True) as endpoint:
        create_usage_table(endpoint, "usage")
        yield aws_env(endpoint) | {"GATEWAY_USAGE_URL": "dynamodb://usage"}


def test_three_processes_admit_no_more_than_the_budget(
    upstream: FakeUpstream, usage_table: dict[str, str]
) -> None:
    payload = {
        "model": "priced",
        "stream": True,
        "max_tokens": MAX_TOKENS,
        "messages": [{"role": "user", "content": "hi"}],
    }
    # Each request reserves its input bound plus 50 tokens out, at $1 per million tokens,
    # and the provider reports exactly that: admitted spend is reserved spend.
    reserved_input = input_token_bound(CHAT_COMPLETIONS.parse(payload).body)
    reported = {"prompt_tokens": reserved_input, "completion_tokens": MAX_TOKENS}
    upstream.scripts["scripted"] = fake.Script(
        steps=[
            fake.chunk({"content": "a"}),
            fake.Pause(0.05),
            fake.chunk({}, "stop"),
            fake.sse({"choices": [], "usage": reported}),
        ]
    )
    budget_usd = 10 * (reserved_input + MAX_TOKENS) / 10**6  # fits exactly ten
    tenants = {
        "acme": {"keys": [TENANT_KEY], "limits": {"budget": {"usd": budget_usd, "period": "day"}}}
    }
    models = {
        "priced": {
            "model": "openai/scripted",
            "api_base": upstream.url,
            "api_key_env": "FAKE_PROVIDER_KEY",
            "price": PRICE,
            "max_output_tokens": 1000,
        }
    }
    env = (
        gateway_env(
            upstream.url, GATEWAY_API_KEYS=json.dumps(tenants), GATEWAY_MODELS=json.dumps(models)
        )
        | usage_table
        | QUIET
    )

    def stream(url: str) -> int:
        with httpx.stream(
            "POST",
            f"{url}/v1/chat/completions",
            json=payload,
            headers={"authorization": f"Bearer {TENANT_KEY}"},
            timeout=60,
        ) as response:
            response.read()
            return response.status_code

    with ExitStack() as stack:
        urls = [stack.enter_context(serve_process(env))[0] for _ in range(3)]
        for url in urls:  # each process's first request, and the day's first admission
            assert (
                httpx.get(
                    f"{url}/v1/models", headers={"authorization": f"Bearer {TENANT_KEY}"}
                ).status_code
                == 200
            )
        with ThreadPoolExecutor(60) as pool:
            statuses = list(pool.map(stream, [urls[i % 3] for i in range(60)]))
        report = httpx.get(
            f"{urls[0]}/v1/usage", headers={"authorization": f"Bearer {TENANT_KEY}"}
        ).json()["data"]

    admitted = statuses.count(200)
    spent = sum(row["cost_usd"] for row in report)
    assert set(statuses) <= {200, 429}, statuses
    assert admitted == len(upstream.requests) == sum(row["requests"] for row in report)
    assert admitted >= 5
    assert admitted <= 10
    assert spent <= budget_usd * (1 + 1e-9)  # the report's dollars are floats
