"""Stored responses: `previous_response_id` and `GET /v1/responses/{id}`.

A stored response is kept with the whole conversation that led to it (its input, with
any earlier turns already expanded), so a follow-up names one id and the gateway sends
the provider the full history: previous input, previous output, new input.

Records live in a `ByteStore` under a keyed digest of tenant and response id: another
tenant's lookup computes another key and finds nothing, which is the tenant isolation.
`store: false` responses, and responses that failed, are never kept.
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from typing import Any, Protocol

import orjson

from gateway.cache.entry import CorruptEntry, inflate_json
from gateway.doors.responses_request import ResponsesTurn, input_items
from gateway.errors import InvalidRequest, NotFound

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 30 * 24 * 3600
"""How long a response is kept (OpenAI keeps them 30 days)."""

_FORMAT = 1


class ByteStore(Protocol):
    """What the state needs from a store: bytes under a key, for a while.

    `responses_cache_store.CacheByteStore` provides it over the response cache's stores.
    """

    async def get(self, key: bytes) -> bytes | None: ...

    async def put(self, key: bytes, data: bytes, ttl_seconds: int) -> None: ...


class ResponseState:
    def __init__(
        self, store: ByteStore, hash_key: bytes, ttl_seconds: int = DEFAULT_TTL_SECONDS
    ) -> None:
        self._store = store
        self._hash_key = hash_key[:64]
        self._ttl_seconds = ttl_seconds

    def _key(self, tenant_id: str, response_id: str) -> bytes:
        digest = hashlib.blake2b(key=self._hash_key, person=b"gw-responses", digest_size=32)
        digest.update(tenant_id.encode() + b"\0" + response_id.encode())
        return digest.digest()

    async def load(self, tenant_id: str, response_id: str) -> dict[str, Any] | None:
        """The record (`response`, `input`) the tenant stored under `response_id`."""
        data = await self._store.get(self._key(tenant_id, response_id))
        if data is None:
            return None
        try:
            record = inflate_json(data)
        except CorruptEntry as error:
            log.warning("stored response unreadable: %s", error)
            return None
        if not _well_formed(record):
            log.warning("stored response of the wrong shape")
            return None
        return record  # type: ignore[no-any-return]  # checked by _well_formed

    async def save(self, tenant_id: str, turn: ResponsesTurn, response: dict[str, Any]) -> None:
        if not turn.store:
            return
        record = {"v": _FORMAT, "response": response, "input": turn.input_items}
        data = zlib.compress(orjson.dumps(record))
        await self._store.put(self._key(tenant_id, response["id"]), data, self._ttl_seconds)

    async def retrieve(self, tenant_id: str, response_id: str) -> dict[str, Any]:
        """The stored response object; 404 when this tenant stored none under the id."""
        record = await self.load(tenant_id, response_id)
        if record is None:
            raise NotFound(f"No response with id '{response_id}' found.", param="response_id")
        response: dict[str, Any] = record["response"]
        return response


def _well_formed(record: Any) -> bool:
    if not isinstance(record, dict) or record.get("v") != _FORMAT:
        return False
    response = record.get("response")
    return (
        isinstance(record.get("input"), list)
        and isinstance(response, dict)
        and isinstance(response.get("output"), list)
    )


async def with_history(state: ResponseState | None, tenant_id: str, body: object) -> object:
    """`body` with `previous_response_id` replaced by the conversation it names.

    The id stays in the body (the response repeats it); the input becomes the stored
    input and output followed by the new input.
    """
    if not isinstance(body, dict) or body.get("previous_response_id") is None:
        return body
    previous = body["previous_response_id"]
    if not isinstance(previous, str):
        raise InvalidRequest(
            "Invalid value for 'previous_response_id': expected a string.",
            param="previous_response_id",
        )
    if state is None:
        raise InvalidRequest(
            "previous_response_id needs stored responses, and this gateway keeps none: send "
            "the whole conversation as input instead.",
            param="previous_response_id",
            code="unsupported",
        )
    record = await state.load(tenant_id, previous)
    if record is None:
        raise InvalidRequest(
            f"Previous response with id '{previous}' not found.",
            param="previous_response_id",
            code="previous_response_not_found",
        )
    history = [*record["input"], *record["response"]["output"]]
    return {**body, "input": history + input_items(body.get("input"))}
