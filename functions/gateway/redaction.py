"""Keeps secrets out of provider text that leaves the gateway (responses, events, logs)."""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"
MAX_PROVIDER_TEXT = 500
"""The most of a provider's message the gateway shows."""


class Redactor:
    """Removes every configured secret from provider text, then shortens it.

    In that order: cutting first could split a secret at the cut, leaving all but its last
    characters where no exact match finds them.
    """

    __slots__ = ("_pattern",)

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so that a secret containing another is removed whole.
        values = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, values))) if values else None

    def clean(self, text: str, limit: int = MAX_PROVIDER_TEXT) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(REDACTED, text)
        return text[:limit]
