"""Which requests the semantic tier may answer, and among which earlier ones.

Only the wording of the last user turn may differ between a request and the one whose
answer it gets: everything else (the tenant, the route, the system prompt, earlier
turns, tools, tool choice, response format, sampling parameters) is hashed into the
partition key, so a candidate is found only among requests where all of it is equal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from gateway.cache.key import DELIVERY_FIELDS
from gateway.core.request import canonical_json

MAX_QUESTION_CHARS = 1000
"""The longest last user turn the tier considers (longer ones: the exact tier only)."""
_PERSON = b"semantic-part/1"


@dataclass(frozen=True, slots=True)
class Question:
    partition: bytes
    """A keyed BLAKE2b-256 of the tenant and the request without its last turn's wording."""
    text: str
    """The last user turn's wording."""


def question(tenant_id: str, body: dict[str, Any], hash_key: bytes) -> Question | None:
    """None when the request is not eligible: the last message is not a user turn of text
    only, is longer than `MAX_QUESTION_CHARS`, or more than one choice is asked for."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or body.get("n") not in (None, 1):
        return None
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user":
        return None
    text = _text(last.get("content"))
    if text is None or not text.strip() or len(text) > MAX_QUESTION_CHARS:
        return None
    rest = {k: v for k, v in body.items() if k not in DELIVERY_FIELDS}
    rest["messages"] = [*messages[:-1], {k: v for k, v in last.items() if k != "content"}]
    tenant = tenant_id.encode()
    digest = hashlib.blake2b(digest_size=32, key=hash_key, person=_PERSON)
    digest.update(len(tenant).to_bytes(4, "big") + tenant)
    digest.update(canonical_json(rest))
    return Question(digest.digest(), text)


def _text(content: object) -> str | None:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    parts = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") != "text":
            return None
        text = part.get("text")
        if not isinstance(text, str):
            return None
        parts.append(text)
    return "\n".join(parts)
