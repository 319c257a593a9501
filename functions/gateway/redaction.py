"""Keeps secrets out of text that leaves the gateway."""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each secret replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text
