"""Stored responses: `previous_response_id` and `GET /v1/responses/{id}`.

A stored response is kept with the whole conversation that led to it (its input, with
any earlier turns already expanded), so a follow-up names one id and the gateway sends
the provider the full history: previous input, previous output, new input.

Records live in a `storage` store (`GATEWAY_RESPONSES_STORE_URL`, with the response
cache's syntax) under a keyed digest of tenant and response id: another tenant's lookup
computes another key and finds nothing, which is the tenant isolation. `store: false`
responses, and responses that failed, are never kept. A store that fails is handled as
the cache handles it: logged, a read finds nothing and a write is skipped, and the
request goes on.

A record is bounded as stored (the store's entry limit) and as inflated: its JSON may be
no larger than one request body (`GATEWAY_MAX_BODY_BYTES`), `reasoning` items that are
never sent upstream included, and it is never inflated past that on load. A chain of
follow-ups therefore cannot build a record that costs more to load than a request: a
record over the bound is not kept (logged), and a follow-up naming it gets
`previous_response_not_found`. Each record is stored as its tenant's (`owner`), within
that tenant's bounds in the store.

A response a provider answered natively (`responses_native`) is kept by the provider; the
gateway records only whose its id is (`ResponseState.claim`), under the same keyed
digest, so that `previous_response_id` on a native route passes for its own tenant only
(`check_handed`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from gateway.config import Settings
from gateway.doors.responses_request import ResponsesTurn, input_items
from gateway.errors import InvalidRequest, NotFound
from gateway.owner import state_owner
from gateway.storage.packed import CorruptData, TooLarge, pack, unpack
from gateway.storage.store import Store, StoredEntry, StoreError

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 30 * 24 * 3600
"""How long a response is kept (OpenAI keeps them 30 days)."""

_FORMAT = 1


def open_response_state(settings: Settings) -> ResponseState | None:
    """The state in `GATEWAY_RESPONSES_STORE_URL` (empty for the default store, a SQLite
    file in the temp directory); None (nothing is stored) when turned off."""
    url = settings.responses_store_url
    if url is None:
        return None
    from gateway.storage.backends import open_store

    store = open_store(url, "GATEWAY_RESPONSES_STORE_URL", settings.owner_bounds)
    return ResponseState(store, settings.hash_key, settings.max_body_bytes)


class ResponseState:
    def __init__(
        self,
        store: Store,
        hash_key: bytes,
        max_record_bytes: int,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> None:
        self._store = store
        self._hash_key = hash_key[:64]
        self._max_record_bytes = max_record_bytes
        """A record's bound as JSON: one request body."""
        self._ttl_seconds = ttl_seconds

    def _key(self, tenant_id: str, response_id: str) -> bytes:
        digest = hashlib.blake2b(key=self._hash_key, person=b"gw-responses", digest_size=32)
        digest.update(tenant_id.encode() + b"\0" + response_id.encode())
        return digest.digest()

    async def load(self, tenant_id: str, response_id: str) -> dict[str, Any] | None:
        """The record (`response`, `input`) the tenant stored under `response_id`; None
        also for a response the provider keeps (see `claim`)."""
        record = await self._read(tenant_id, response_id)
        if record is None or record.get("native") is True:
            return None
        if not _well_formed(record):
            log.warning("stored response of the wrong shape")
            return None
        return record

    async def handed(self, tenant_id: str, response_id: str) -> bool:
        """Whether the gateway handed this tenant the provider's response `response_id`."""
        record = await self._read(tenant_id, response_id)
        return record is not None and record.get("native") is True

    async def _read(self, tenant_id: str, response_id: str) -> dict[str, Any] | None:
        try:
            entry = await self._store.get(self._key(tenant_id, response_id))
        except StoreError as error:
            log.warning("stored responses unavailable (read): %s", type(error).__name__)
            return None
        if entry is None:
            return None
        try:
            record = unpack(entry.data, self._max_record_bytes)
        except CorruptData as error:
            log.warning("stored response unreadable: %s", error)
            return None
        if not isinstance(record, dict) or record.get("v") != _FORMAT:
            log.warning("stored response of the wrong shape")
            return None
        return record

    async def save(self, tenant_id: str, turn: ResponsesTurn, response: dict[str, Any]) -> None:
        if not turn.store:
            return
        record = {"v": _FORMAT, "response": response, "input": turn.input_items}
        await self._write(tenant_id, response["id"], record)

    async def claim(self, tenant_id: str, response: dict[str, Any]) -> None:
        """Note a response that a provider answered natively, and keeps itself, as this
        tenant's: the record holds no conversation, only whose the id is, so that no
        other tenant can chain onto it at the provider (they share the operator's key).
        A response the provider does not store (`store: false`) is not noted."""
        response_id = response.get("id")
        if isinstance(response_id, str) and response.get("store") is not False:
            await self._write(tenant_id, response_id, {"v": _FORMAT, "native": True})

    async def _write(self, tenant_id: str, response_id: str, record: dict[str, Any]) -> None:
        try:
            data = await pack(record, self._max_record_bytes)
        except TooLarge as error:
            log.warning(
                "response not stored: its conversation is %d bytes, over the body limit",
                error.size,
            )
            return
        if len(data) > self._store.max_entry_bytes:
            log.warning("response not stored: %d bytes is over the store's limit", len(data))
            return
        key = self._key(tenant_id, response_id)
        owner = state_owner(tenant_id, self._hash_key)
        try:
            await self._store.put(
                key, StoredEntry(data, time.time()), self._ttl_seconds, owner=owner
            )
        except StoreError as error:
            log.warning("stored responses unavailable (write): %s", type(error).__name__)

    async def retrieve(self, tenant_id: str, response_id: str) -> dict[str, Any]:
        """The stored response object; 404 when this tenant stored none under the id."""
        record = await self.load(tenant_id, response_id)
        if record is None:
            raise NotFound(f"No response with id '{response_id}' found.", param="response_id")
        response: dict[str, Any] = record["response"]
        return response


def _well_formed(record: dict[str, Any]) -> bool:
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
    if not isinstance(body, dict) or (previous := _previous_id(body)) is None:
        return body
    record = await _kept(state).load(tenant_id, previous)
    if record is None:
        raise _not_found(previous)
    history = [*record["input"], *record["response"]["output"]]
    return {**body, "input": history + input_items(body.get("input"))}


async def check_handed(state: ResponseState | None, tenant_id: str, body: object) -> None:
    """On a route whose provider keeps the state: `previous_response_id` passes as it is,
    but only for a response the gateway handed this tenant (`ResponseState.claim`)."""
    if not isinstance(body, dict) or (previous := _previous_id(body)) is None:
        return
    if not await _kept(state).handed(tenant_id, previous):
        raise _not_found(previous)


def _previous_id(body: dict[str, Any]) -> str | None:
    previous = body.get("previous_response_id")
    if previous is not None and not isinstance(previous, str):
        raise InvalidRequest(
            "Invalid value for 'previous_response_id': expected a string.",
            param="previous_response_id",
        )
    return previous


def _kept(state: ResponseState | None) -> ResponseState:
    """The state a follow-up needs; a 400 when no responses are kept for this tenant."""
    if state is None:
        raise InvalidRequest(
            "previous_response_id needs stored responses, and this gateway keeps none for "
            "this API key: send the whole conversation as input instead.",
            param="previous_response_id",
            code="unsupported",
        )
    return state


def _not_found(previous: str) -> InvalidRequest:
    return InvalidRequest(
        f"Previous response with id '{previous}' not found.",
        param="previous_response_id",
        code="previous_response_not_found",
    )
