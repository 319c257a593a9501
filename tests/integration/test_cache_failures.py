"""A store that fails never fails a request: the answer comes from the provider, the
failure is logged as a warning and counted in `CacheErrors`.

Unreachable stores (a SQLite file that cannot be opened, a DynamoDB endpoint nobody
listens on), a DynamoDB table that does not exist, and entries damaged in the file.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import Settings
from tests.integration.test_request_log import emf_records, metric_names
from tests.support import fake_upstream as fake
from tests.support.dynamodb import aws_env, dynamodb_server
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import chat, gateway_env
from tests.support.servers import serve

ROUTES = ["direct", "via-litellm"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


@pytest.fixture
def unreachable_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in aws_env(f"http://127.0.0.1:{closed_port()}").items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def missing_dynamodb_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with dynamodb_server() as endpoint:
        for name, value in aws_env(endpoint).items():
            monkeypatch.setenv(name, value)
        yield


STORES = {
    "sqlite file that cannot be opened": (
        "sqlite:///nonexistent-directory/cache.sqlite3",
        None,
    ),
    "dynamodb endpoint nobody listens on": ("dynamodb://cache", "unreachable_dynamodb"),
    "dynamodb table that does not exist": ("dynamodb://no-such-table", "missing_dynamodb_table"),
}


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("model", ROUTES)
@pytest.mark.parametrize("store", list(STORES))
def test_a_failing_store_is_a_miss_a_warning_and_a_metric(
    upstream: FakeUpstream,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
    store: str,
    model: str,
    stream: bool,
) -> None:
    url, fixture = STORES[store]
    if fixture is not None:
        request.getfixturevalue(fixture)
    upstream.scripts["scripted"] = fake.text(["Hello", " world"])
    env = gateway_env(upstream.url, GATEWAY_CACHE_TTL_SECONDS="60", GATEWAY_CACHE_URL=url)
    content = f"question {uuid.uuid4().hex}"

    with serve(Settings.from_env(env)) as gateway:
        capsys.readouterr()
        responses = [chat(gateway, model, content, stream) for _ in range(2)]

    for response in responses:
        assert response.status_code == 200
        assert response.headers["x-gateway-cache"] == "miss"
        assert "Hello world" in response.text or '"content":" world"' in response.text
    assert len(upstream.requests) == 2
    assert warnings_in(caplog).count("response cache unavailable") == 4  # read, write, twice
    records = [r for r in emf_records(capsys.readouterr().out) if "Requests" in r]
    assert [r.get("CacheErrors") for r in records] == [[2.0], [2.0]]
    assert all("CacheErrors" in metric_names(r) for r in records)


@pytest.fixture
def damaged_store(upstream: FakeUpstream, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    path = tmp_path / "cache.sqlite3"
    env = gateway_env(
        upstream.url, GATEWAY_CACHE_TTL_SECONDS="60", GATEWAY_CACHE_URL=f"sqlite://{path}"
    )
    with serve(Settings.from_env(env)) as url:
        yield url, path


DAMAGE = {
    "bytes that are not zlib": b"\x00garbage",
    "zlib of something else": zlib.compress(b'{"v": 1, "chunks": "no"}'),
    "an entry stored under another key": None,  # filled in by the test
}


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("model", ROUTES)
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_entry_is_a_miss_and_is_replaced(
    damaged_store: tuple[str, Path],
    upstream: FakeUpstream,
    caplog: pytest.LogCaptureFixture,
    damage: str,
    model: str,
    stream: bool,
) -> None:
    url, path = damaged_store
    upstream.scripts["scripted"] = [fake.text(["first"]), fake.text(["second"])]
    content = f"question {uuid.uuid4().hex}"
    chat(url, model, content, stream)
    with sqlite3.connect(path) as db:
        if DAMAGE[damage] is None:  # another question's entry, moved under this key
            chat(url, model, content + " (another)", stream)
            (key,), (other,) = db.execute("SELECT key FROM entries ORDER BY stored_at")
            db.execute("DELETE FROM entries WHERE key = ?", (key,))
            db.execute("UPDATE entries SET key = ? WHERE key = ?", (key, other))
        else:
            db.execute("UPDATE entries SET data = ?", (DAMAGE[damage],))

    damaged = chat(url, model, content, stream)
    repaired = chat(url, model, content, stream)

    assert (damaged.status_code, damaged.headers["x-gateway-cache"]) == (200, "miss")
    assert "second" in damaged.text
    assert (repaired.headers["x-gateway-cache"], "second" in repaired.text) == ("hit", True)
    assert warnings_in(caplog).count("response cache unavailable") == 1


def test_a_bad_cache_url_stops_the_start() -> None:
    from gateway.app import create_app
    from gateway.errors import ConfigurationError

    for url in ("redis://x", "sqlite://relative.db", "dynamodb://", "memory://x"):
        env = {"GATEWAY_CACHE_TTL_SECONDS": "60", "GATEWAY_CACHE_URL": url}
        with pytest.raises(ConfigurationError, match="GATEWAY_CACHE_URL must be"):
            create_app(Settings.from_env(env))


def test_a_cache_file_others_can_read_is_refused(upstream: FakeUpstream, tmp_path: Path) -> None:
    """Cached answers are tenants' data: a world-readable file (in a shared temp
    directory, perhaps someone else's) is never used."""
    path = tmp_path / "cache.sqlite3"
    path.touch(mode=0o644)
    path.chmod(0o644)
    env = gateway_env(
        upstream.url, GATEWAY_CACHE_TTL_SECONDS="60", GATEWAY_CACHE_URL=f"sqlite://{path}"
    )
    with serve(Settings.from_env(env)) as url:
        responses = [chat(url, "direct", "same question", False) for _ in range(2)]

    assert [r.headers["x-gateway-cache"] for r in responses] == ["miss", "miss"]
    assert path.stat().st_size == 0
    assert json.loads(responses[1].text)["choices"][0]["message"]["content"] == "Hello world"
