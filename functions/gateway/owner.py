"""Whose state a stored entry is: every store put names an owner, so that a store can
bound each tenant's state and make room by dropping that tenant's own entries only."""

from __future__ import annotations

import hashlib


def state_owner(tenant_id: str, hash_key: bytes) -> bytes:
    """A keyed 128-bit BLAKE2b of the tenant id: a store (a file, a table) holds this
    digest, never the tenant id, and without `GATEWAY_HASH_KEY` it names no tenant."""
    return hashlib.blake2b(
        tenant_id.encode(), digest_size=16, key=hash_key, person=b"state-owner"
    ).digest()
