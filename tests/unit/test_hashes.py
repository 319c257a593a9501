"""The correlation hashes and the response cache's key: stable, order-independent,
tenant-separated."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
from hypothesis import given
from hypothesis import strategies as st

from gateway.cache.key import response_cache_key
from gateway.config import derive_hash_key
from gateway.correlation import request_hashes
from tests.support.gateway import OTHER_TENANT_KEY, TENANT_KEY

KEY = derive_hash_key("test-key")
REQUEST = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "Hello"}],
    "temperature": 0.2,
    "stream": True,
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


def reorder(value: object) -> object:
    """The same JSON with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {k: reorder(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reorder(v) for v in value]
    return value


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6))
def test_key_order_does_not_change_any_hash(request: dict[str, object]) -> None:
    body = {"model": "m", "messages": [], **request}
    assert request_hashes("t", body, KEY) == request_hashes("t", reorder(body), KEY)


def test_same_request_same_hashes_in_another_process() -> None:
    code = (
        "import json, sys; from gateway.correlation import request_hashes;"
        "from gateway.config import derive_hash_key;"
        "k = request_hashes('acme', json.loads(sys.argv[1]), derive_hash_key('test-key'));"
        "print(k.tenant_id_hash, k.context_hash)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(REQUEST)],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": "functions", "PYTHONHASHSEED": "random"},
    )
    here = request_hashes("acme", REQUEST, KEY)
    assert out.stdout.split() == [str(here.tenant_id_hash), str(here.context_hash)]


def test_tenants_get_different_hashes_for_the_same_request() -> None:
    a = request_hashes("acme", REQUEST, KEY)
    b = request_hashes("globex", REQUEST, KEY)
    assert a.tenant_id_hash != b.tenant_id_hash
    # keyed per tenant: a tenant that sees another's context hash cannot confirm a guess
    # of its prompt by sending the same request itself
    assert a.context_hash != b.context_hash
    assert request_hashes("acme", dict(REQUEST), KEY).context_hash == a.context_hash
    assert 0 <= a.tenant_id_hash < 2**64
    assert 0 <= a.context_hash < 2**64


def test_hash_key_changes_the_tenant_hash() -> None:
    assert (
        request_hashes("acme", REQUEST, KEY).tenant_id_hash
        != request_hashes("acme", REQUEST, derive_hash_key("other")).tenant_id_hash
    )


def test_the_context_hash_covers_sampling_parameters() -> None:
    hot = {**REQUEST, "temperature": 1.5}
    assert (
        request_hashes("acme", hot, KEY).context_hash
        != request_hashes("acme", REQUEST, KEY).context_hash
    )


def test_responses_carry_the_hashes_and_they_differ_by_tenant(gateway_url: str) -> None:
    body = {"model": "echo", "messages": [{"role": "user", "content": "same"}]}
    a = httpx.post(
        f"{gateway_url}/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {TENANT_KEY}"},
    )
    b = httpx.post(
        f"{gateway_url}/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {OTHER_TENANT_KEY}"},
    )
    a2 = httpx.post(
        f"{gateway_url}/v1/chat/completions",
        json=dict(reversed(body.items())),
        headers={"authorization": f"Bearer {TENANT_KEY}"},
    )

    assert a.headers["x-gateway-tenant-hash"] != b.headers["x-gateway-tenant-hash"]
    assert a.headers["x-gateway-context-hash"] != b.headers["x-gateway-context-hash"]  # per tenant
    assert a.headers["x-gateway-tenant-hash"] == a2.headers["x-gateway-tenant-hash"]
    assert a.headers["x-gateway-context-hash"] == a2.headers["x-gateway-context-hash"]
    assert len(a.headers["x-gateway-tenant-hash"]) == 16


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6))
def test_the_response_key_ignores_key_order(request: dict[str, object]) -> None:
    body = {"model": "m", "messages": [], **request}
    assert response_cache_key("t", body, KEY) == response_cache_key("t", reorder(body), KEY)


def test_the_response_key_ignores_delivery_and_keeps_everything_else() -> None:
    plain = {k: v for k, v in REQUEST.items() if k != "stream"}
    key = response_cache_key("acme", plain, KEY)
    delivered = {**plain, "stream": True, "stream_options": {"include_usage": True}}

    assert len(key) == 32
    assert response_cache_key("acme", delivered, KEY) == key
    assert response_cache_key("acme", {**plain, "stream": False}, KEY) == key
    for changed in (
        {"temperature": 0.3},
        {"seed": 1},
        {"max_tokens": 5},
        {"user": "u"},
        {"model": "other"},
        {"messages": [{"role": "user", "content": "hello"}]},
    ):
        assert response_cache_key("acme", {**plain, **changed}, KEY) != key, changed


def test_the_response_key_separates_tenants_and_hash_keys() -> None:
    key = response_cache_key("acme", REQUEST, KEY)

    assert response_cache_key("globex", REQUEST, KEY) != key
    assert response_cache_key("acme", REQUEST, derive_hash_key("other")) != key
    # Not the correlation hash under another name.
    assert key[:8] != request_hashes("acme", REQUEST, KEY).context_hash.to_bytes(8, "big")
