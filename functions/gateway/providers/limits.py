"""The bounds every provider path applies to what a provider sends (see `bounded`).

Kept apart from `bounded`, which wraps httpx transports for LiteLLM, so that the direct
path applies the same bounds without importing httpx.
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_EVENT_BYTES = 8 * 1024 * 1024
"""The largest server-sent event accepted from a provider."""

TOO_LARGE = "The provider sent an event that is too large."
COMPRESSED = "The provider sent a compressed response, which the gateway did not ask for."
_IDENTITY = ("", "identity")


def is_compressed(headers: Mapping[str, str]) -> bool:
    """The gateway asks for `identity`: a compressed body is refused, never inflated."""
    return headers.get("content-encoding", "").strip().lower() not in _IDENTITY
