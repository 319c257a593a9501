"""Two gateway processes sharing one store: an answer one stored is a hit in the other.

The embedded store is one SQLite file (as two workers on one machine share it); the
shared store is one DynamoDB table, emulated by moto's server, started here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support import fake_upstream as fake
from tests.support.dynamodb import aws_env, create_cache_table, dynamodb_server
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import chat, gateway_env
from tests.support.servers import serve_process

ROUTES = ["direct", "via-litellm"]
QUIET = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}


@pytest.fixture(scope="module")
def dynamodb_table() -> Iterator[dict[str, str]]:
    """The environment that points a gateway at a fresh emulated table."""
    with dynamodb_server() as endpoint:
        create_cache_table(endpoint, "llm-gateway-cache")
        yield aws_env(endpoint) | {"GATEWAY_CACHE_URL": "dynamodb://llm-gateway-cache"}


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    path = tmp_path_factory.mktemp("shared") / "cache.sqlite3"
    return {"GATEWAY_CACHE_URL": f"sqlite://{path}"}


@pytest.fixture(scope="module", params=["sqlite_file", "dynamodb_table"])
def two_gateways(
    request: pytest.FixtureRequest, upstream: FakeUpstream
) -> Iterator[tuple[str, str]]:
    store: dict[str, str] = request.getfixturevalue(request.param)
    env = gateway_env(upstream.url, GATEWAY_CACHE_TTL_SECONDS="300") | store | QUIET
    with ExitStack() as stack:
        (one, _), (other, _) = (stack.enter_context(serve_process(env)) for _ in range(2))
        yield one, other


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("model", ROUTES)
def test_an_answer_stored_by_one_process_is_a_hit_in_the_other(
    two_gateways: tuple[str, str], upstream: FakeUpstream, model: str, stream: bool
) -> None:
    one, other = two_gateways
    upstream.scripts["scripted"] = fake.text(["shared", " answer"])
    content = f"question {uuid.uuid4().hex}"

    stored = chat(one, model, content, stream)
    served = chat(other, model, content, not stream)
    served_back = chat(one, model, content, stream)

    assert [r.headers["x-gateway-cache"] for r in (stored, served, served_back)] == [
        "miss",
        "hit",
        "hit",
    ]
    assert len(upstream.requests) == 1
    assert "shared" in served.text
    assert served.headers["x-request-id"] != stored.headers["x-request-id"]


def test_the_default_store_is_a_private_file_in_the_temp_directory(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    """Unset `GATEWAY_CACHE_URL`: a SQLite file in the system temp directory (on Lambda,
    /tmp), created readable by its owner only, which a second process shares."""
    env = gateway_env(upstream.url, GATEWAY_CACHE_TTL_SECONDS="300") | QUIET
    env["TMPDIR"] = str(tmp_path)
    content = f"question {uuid.uuid4().hex}"

    with serve_process(env) as (one, _):
        stored = chat(one, "direct", content, True)
    with serve_process(env) as (other, _):
        served = chat(other, "direct", content, False)

    assert (stored.headers["x-gateway-cache"], served.headers["x-gateway-cache"]) == (
        "miss",
        "hit",
    )
    # Beside it, the usage store's default file (`GATEWAY_USAGE_URL`), private too.
    files = {file.name: file.stat().st_mode & 0o777 for file in tmp_path.glob("*.sqlite3")}
    assert files == {"llm-gateway-cache.sqlite3": 0o600, "llm-gateway-usage.sqlite3": 0o600}
