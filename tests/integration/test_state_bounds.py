"""What a tenant makes the gateway keep is bounded: a stored Responses record by the body
limit (as stored and as inflated), and each tenant's state by its own bounds, so one
tenant's flood evicts its own oldest entries and never another tenant's.

These are the attacks of issue 24 (items 1, 2 and the opt-out of item 9) as a hostile
tenant runs them, with the embedded stores (`memory://` and a SQLite file, which by
default holds both the cache and the stored responses).
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.config import Settings
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import OTHER_TENANT_KEY, TENANT_KEY, gateway_env
from tests.support.servers import serve

OPTED_OUT_KEY = "sk-test-optout-7777777777"


def respond(url: str, key: str, timeout: float = 30.0, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/responses",
        headers={"authorization": f"Bearer {key}"},
        json=body,
        timeout=timeout,
    )


def reasoning(text: str) -> dict[str, Any]:
    """A `reasoning` input item: stored with the conversation, never sent upstream."""
    return {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": text}


def inflated_sizes(path: Path) -> list[int]:
    """How large each record in a SQLite store inflates."""
    with sqlite3.connect(path) as db:
        return [len(zlib.decompress(data)) for (data,) in db.execute("SELECT data FROM entries")]


# 1. The Responses chain cannot build a record past the body limit.


def test_a_chain_of_never_sent_items_keeps_no_record_larger_than_a_request(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    """Each request is within the body limit, but each follow-up's record holds the
    whole chain: once it would inflate past the limit it is not kept, and a follow-up
    naming it is told it was not found (the provider never sees the reasoning)."""
    limit = 64 * 1024
    store = tmp_path / "state.sqlite3"
    env = gateway_env(
        upstream.url,
        GATEWAY_MAX_BODY_BYTES=str(limit),
        GATEWAY_RESPONSES_STORE_URL=f"sqlite://{store}",
    )
    thoughts = reasoning("x" * (limit // 3))  # compresses to almost nothing
    statuses = []
    with serve(Settings.from_env(env)) as url:
        previous = None
        for _ in range(5):
            sent = respond(
                url,
                TENANT_KEY,
                model="direct",
                input=[thoughts, {"role": "user", "content": "go on"}],
                previous_response_id=previous,
            )
            statuses.append(sent.status_code)
            if sent.status_code != 200:
                break
            previous = sent.json()["id"]

    assert statuses == [200, 200, 200, 400]  # the third record would be ~3 x 21 KiB of items
    assert sent.json()["error"]["code"] == "previous_response_not_found"
    assert max(inflated_sizes(store)) <= limit
    assert all("encrypted_content" not in json.dumps(r.body) for r in upstream.requests)


def test_a_stored_record_is_never_inflated_past_the_body_limit(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    """A record that inflates past the limit (written by an older gateway, or by anyone
    with the file) is not inflated: the follow-up is a quick 400, not seconds and
    gigabytes."""
    store = tmp_path / "state.sqlite3"
    env = gateway_env(upstream.url, GATEWAY_RESPONSES_STORE_URL=f"sqlite://{store}")
    with serve(Settings.from_env(env)) as url:
        first = respond(url, TENANT_KEY, model="direct", input="Hi").json()
        bomb = {"v": 1, "response": first, "input": [reasoning("x" * (48 * 1024 * 1024))]}
        with sqlite3.connect(store) as db:
            db.execute("UPDATE entries SET data = ?", (zlib.compress(json.dumps(bomb).encode()),))

        started = time.monotonic()
        follow_up = respond(
            url, TENANT_KEY, model="direct", input="Again", previous_response_id=first["id"]
        )
        took = time.monotonic() - started

    assert follow_up.status_code == 400
    assert follow_up.json()["error"]["code"] == "previous_response_not_found"
    assert took < 1.0


# 2. One tenant's flood never evicts another tenant's state.


def noise(size: int) -> str:
    """`size` characters that compress to about three quarters of it."""
    return base64.b64encode(os.urandom(size * 3 // 4)).decode()


ENTRY = 1200 * 1024
"""A flood request's text: stored, it compresses to about 900 KiB (the embedded stores
keep entries of up to 1 MiB)."""
STORED = ENTRY * 3 // 4


def flood_cache(client: httpx.Client, url: str, entries: int) -> None:
    """`globex` asks `entries` different large questions of the echo route: each answer
    is as large as its question, and is cached."""
    headers = {"authorization": f"Bearer {OTHER_TENANT_KEY}", "content-type": "application/json"}
    text = noise(ENTRY)
    for i in range(entries):
        message = {"role": "user", "content": f"{i:06d}{text}"}
        body = json.dumps({"model": "echo", "messages": [message]}).encode()
        flooded = client.post(f"{url}/v1/chat/completions", headers=headers, content=body)
        assert flooded.headers["x-gateway-cache"] == "miss"


def flood_responses(client: httpx.Client, url: str, entries: int) -> list[str]:
    """`globex` stores `entries` responses, each with a large never-sent reasoning item;
    returns their ids."""
    headers = {"authorization": f"Bearer {OTHER_TENANT_KEY}", "content-type": "application/json"}
    body = json.dumps(
        {"model": "echo", "input": [reasoning(noise(ENTRY)), {"role": "user", "content": "hi"}]}
    ).encode()
    ids = []
    for _ in range(entries):
        stored = client.post(f"{url}/v1/responses", headers=headers, content=body)
        ids.append(stored.json()["id"])
    return ids


def nearly_full_sqlite(path: Path, free_bytes: int) -> None:
    """A store file of the default size (256 MiB) with only `free_bytes` left: a table
    the store does not know takes the rest, so a flood reaches the file's limit in a few
    requests instead of hundreds."""
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE ballast (data BLOB)")
        db.execute("INSERT INTO ballast VALUES (zeroblob(?))", (256 * 1024 * 1024 - free_bytes,))


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_one_tenants_flood_does_not_evict_another_tenants_state(
    upstream: FakeUpstream, tmp_path: Path, store: str
) -> None:
    """`globex` fills the store with large stored responses (never-sent reasoning) and,
    on `memory://`, where the cache is a store of its own, with large cached answers:
    more than the whole store holds. `acme`'s stored response still continues, and its
    cached answer is still a hit."""
    if store == "memory":
        url, free = "memory://", 64 * 1024 * 1024
    else:
        url, free = f"sqlite://{tmp_path / 'state.sqlite3'}", 8 * 1024 * 1024
        nearly_full_sqlite(tmp_path / "state.sqlite3", free)
    env = gateway_env(
        upstream.url,
        GATEWAY_CACHE_TTL_SECONDS="3600",
        GATEWAY_CACHE_URL=url,
        GATEWAY_RESPONSES_STORE_URL=url,
    )
    flood = free // STORED + 8
    question = {"model": "direct", "messages": [{"role": "user", "content": "cache me"}]}
    acme = {"authorization": f"Bearer {TENANT_KEY}"}
    with serve(Settings.from_env(env)) as gateway, httpx.Client(timeout=60) as client:
        kept = respond(gateway, TENANT_KEY, model="direct", input="My name is Ada").json()
        cached = client.post(f"{gateway}/v1/chat/completions", headers=acme, json=question)
        flooded = flood_responses(client, gateway, flood)
        if store == "memory":
            flood_cache(client, gateway, flood)
        follow_up = respond(
            gateway, TENANT_KEY, model="direct", input="Who am I?", previous_response_id=kept["id"]
        )
        again = client.post(f"{gateway}/v1/chat/completions", headers=acme, json=question)
        globex = {"authorization": f"Bearer {OTHER_TENANT_KEY}"}
        first = client.get(f"{gateway}/v1/responses/{flooded[0]}", headers=globex)
        last = client.get(f"{gateway}/v1/responses/{flooded[-1]}", headers=globex)

    assert (first.status_code, last.status_code) == (404, 200)  # its own oldest made room
    assert cached.headers["x-gateway-cache"] == "miss"
    assert follow_up.status_code == 200, follow_up.text
    assert upstream.last().body["messages"][0]["content"] == "My name is Ada"
    assert again.headers["x-gateway-cache"] == "hit"


# 9. A tenant that opted out has nothing kept.


def test_a_tenant_that_opted_out_has_no_response_stored(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    store = tmp_path / "state.sqlite3"
    env = gateway_env(upstream.url, GATEWAY_RESPONSES_STORE_URL=f"sqlite://{store}")
    env["GATEWAY_API_KEYS"] = json.dumps({"optout": {"keys": [OPTED_OUT_KEY], "cache": False}})
    with serve(Settings.from_env(env)) as url:
        first = respond(url, OPTED_OUT_KEY, model="direct", input="Hi")
        follow_up = respond(
            url,
            OPTED_OUT_KEY,
            model="direct",
            input="Again",
            previous_response_id=first.json()["id"],
        )
        retrieved = httpx.get(
            f"{url}/v1/responses/{first.json()['id']}",
            headers={"authorization": f"Bearer {OPTED_OUT_KEY}"},
        )

    assert first.status_code == 200
    assert follow_up.status_code == 400
    assert follow_up.json()["error"]["param"] == "previous_response_id"
    assert "keeps none" in follow_up.json()["error"]["message"]
    assert retrieved.status_code == 404
    assert not store.exists() or inflated_sizes(store) == []
