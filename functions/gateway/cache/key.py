"""The exact-match cache key, computed only for routes that cache."""

from __future__ import annotations

import hashlib
from typing import Any

from gateway.core.request import canonical_json

DELIVERY_FIELDS = frozenset({"stream", "stream_options"})
"""How the answer is delivered, not what it is: a streamed answer serves `stream: false`."""
RESPONSE_KEY_BYTES = 32
_RESPONSE_KEY_PERSON = b"response-cache/1"


def response_cache_key(tenant_id: str, request: dict[str, Any], hash_key: bytes) -> bytes:
    """A keyed 256-bit BLAKE2b of the tenant and the canonical request without its
    delivery fields (sampling parameters included).

    The tenant id is length-prefixed, so no tenant's key can equal another's; the
    personalisation string keeps these digests apart from the correlation hashes
    (`gateway.correlation`), which use the same key.
    """
    asked = {k: v for k, v in request.items() if k not in DELIVERY_FIELDS}
    tenant = tenant_id.encode()
    digest = hashlib.blake2b(
        digest_size=RESPONSE_KEY_BYTES, key=hash_key, person=_RESPONSE_KEY_PERSON
    )
    digest.update(len(tenant).to_bytes(4, "big") + tenant)
    digest.update(canonical_json(asked))
    return digest.digest()
