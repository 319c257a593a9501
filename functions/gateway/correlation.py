"""The correlation hashes every request carries: in its log line and, when a configured
key makes them safe to show, in its response headers.

Keyed 64-bit BLAKE2b digests: the same tenant, or the same request, gives the same hash
across processes and environments, so log lines can be grouped without holding the
tenant id or the prompt.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from gateway.core.request import canonical_json


@dataclass(frozen=True, slots=True)
class RequestHashes:
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


def request_hashes(tenant_id: str, request: dict[str, Any], hash_key: bytes) -> RequestHashes:
    """`tenant_id_hash` is keyed by the gateway's hash key (stable across processes);
    `context_hash` covers the whole request body and is keyed per tenant, so a tenant
    shown another's context hash cannot confirm a guess of that tenant's prompt."""
    tenant = tenant_id.encode()
    return RequestHashes(
        tenant_id_hash=_hash64(tenant, hash_key),
        context_hash=_hash64(canonical_json(request), _hash_key_of(tenant, hash_key)),
    )


def _hash_key_of(tenant: bytes, hash_key: bytes) -> bytes:
    """The tenant's own 64-byte BLAKE2b key, derived from the gateway's."""
    return hashlib.blake2b(tenant, key=hash_key, person=b"context-hash").digest()
