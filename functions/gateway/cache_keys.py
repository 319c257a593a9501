"""Per-request hashes: the correlation hashes every request carries, and the key of the
exact-match response cache (`gateway.cache`), computed only for routes that cache.

`semantic_text` is what a semantic cache tier would embed: computed only when asked for,
and never logged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

# Fields that change what the model is asked, as opposed to how it samples or how the
# answer is delivered (temperature, max_tokens, stream, user, ...).
SEMANTIC_FIELDS = ("model", "messages", "tools", "tool_choice", "response_format")
# How the answer is delivered, not what it is: a streamed answer serves `stream: false`.
DELIVERY_FIELDS = frozenset({"stream", "stream_options"})
RESPONSE_KEY_BYTES = 32
_RESPONSE_KEY_PERSON = b"response-cache/1"


@dataclass(frozen=True, slots=True)
class CacheKeys:
    tenant_id_hash: int
    context_hash: int

    @property
    def tenant_id_hex(self) -> str:
        return f"{self.tenant_id_hash:016x}"

    @property
    def context_hex(self) -> str:
        return f"{self.context_hash:016x}"


def _hash64(data: bytes, key: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, key=key).digest(), "big")


def canonical_json(value: Any) -> bytes:
    """Compact JSON with sorted keys: the same for the same request in any key order.
    (Request validation has refused bodies too deep to write.)"""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def compute_cache_keys(tenant_id: str, request: dict[str, Any], hash_key: bytes) -> CacheKeys:
    """`tenant_id_hash` is keyed by the gateway's hash key (stable across processes);
    `context_hash` covers the whole request body."""
    return CacheKeys(
        tenant_id_hash=_hash64(tenant_id.encode(), hash_key),
        context_hash=_hash64(canonical_json(request), hash_key),
    )


def semantic_text(request: dict[str, Any]) -> str:
    """What the request asks, without how it samples or is delivered: canonical JSON of
    `model`, `messages` and, when present, `tools`, `tool_choice`, `response_format`."""
    semantic = {k: request[k] for k in SEMANTIC_FIELDS if request.get(k) is not None}
    return canonical_json(semantic).decode()


def response_cache_key(tenant_id: str, request: dict[str, Any], hash_key: bytes) -> bytes:
    """The exact-match cache key: a keyed 256-bit BLAKE2b of the tenant and the canonical
    request without its delivery fields (sampling parameters included).

    The tenant id is length-prefixed, so no tenant's key can equal another's; the
    personalisation string keeps these digests apart from the correlation hashes, which
    use the same key.
    """
    asked = {k: v for k, v in request.items() if k not in DELIVERY_FIELDS}
    tenant = tenant_id.encode()
    digest = hashlib.blake2b(
        digest_size=RESPONSE_KEY_BYTES, key=hash_key, person=_RESPONSE_KEY_PERSON
    )
    digest.update(len(tenant).to_bytes(4, "big") + tenant)
    digest.update(canonical_json(asked))
    return digest.digest()
