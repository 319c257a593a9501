"""Who is calling: API key → tenant, in constant time."""

from __future__ import annotations

import hmac

from gateway.config import TenantConfig, key_digest
from gateway.errors import AuthenticationFailed

_MISSING = "Missing API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'."
_UNKNOWN = "Incorrect API key provided."


class KeyStore:
    """Finds the tenant that owns a key.

    The presented key is hashed and compared with every stored digest, always all of
    them, with `hmac.compare_digest`, so the time taken does not depend on which key, or
    how much of one, matched. With no tenants configured every key is refused.
    """

    def __init__(self, tenants: tuple[TenantConfig, ...]) -> None:
        self._entries = tuple(
            (digest, tenant) for tenant in tenants for digest in tenant.key_digests
        )

    def authenticate(self, authorization: str | None, api_key: str | None = None) -> TenantConfig:
        """The tenant of the key in `x-api-key` (what Anthropic clients send, and the only
        place left for it when a SigV4 signature occupies `Authorization`), or else of the
        `Authorization: Bearer` key."""
        key = (api_key or "").strip()
        if not key:
            scheme, _, bearer = (authorization or "").partition(" ")
            key = bearer.strip() if scheme.lower() == "bearer" else ""
        if not key:
            raise AuthenticationFailed(_MISSING)
        presented = key_digest(key)
        found: TenantConfig | None = None
        for digest, tenant in self._entries:
            if hmac.compare_digest(digest, presented) and found is None:
                found = tenant
        if found is None:
            raise AuthenticationFailed(_UNKNOWN)
        return found
