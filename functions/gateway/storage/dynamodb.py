"""`dynamodb://TABLE`: one table that every execution environment shares.

Region, credentials and endpoint come from the usual AWS settings (`AWS_REGION`,
`AWS_ENDPOINT_URL` for an emulator, ...). This module is imported only when the URL names
DynamoDB, and the client is built at start: during the init phase, so under SnapStart it
is in the snapshot. Calls run on threads (boto3 blocks) with short timeouts and one retry:
a slow store must not hold a request up for long.

The table: partition key `key` (binary), `data` (binary), `owner` (binary: the keyed
digest of the tenant that stored it), `stored_at` (number) and `expires_at` (number, the
table's TTL attribute). DynamoDB deletes expired items within
days, not at once, so a read checks `expires_at` itself.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from gateway.errors import ConfigurationError
from gateway.storage.store import StoredEntry, StoreError

ITEM_LIMIT_BYTES = 400_000
"""DynamoDB's item size limit ("400 KB"), attribute names and the key included."""
_CLIENT_CONFIG = Config(
    connect_timeout=1, read_timeout=1, retries={"total_max_attempts": 2, "mode": "standard"}
)


class DynamoDbStore:
    max_entry_bytes = ITEM_LIMIT_BYTES - 1024  # room for the key, the numbers and the names

    def __init__(self, table: str, variable: str = "GATEWAY_CACHE_URL") -> None:
        self._table = table
        try:
            # boto3 itself reads AWS_DEFAULT_REGION only; Lambda sets both.
            session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None)
            self._client: Any = session.client("dynamodb", config=_CLIENT_CONFIG)
        except BotoCoreError as error:  # no region configured, most likely
            raise ConfigurationError(f"{variable}: cannot use DynamoDB: {error}") from None

    async def get(self, key: bytes) -> StoredEntry | None:
        item = await asyncio.to_thread(self._call, "get_item", Key={"key": {"B": key}})
        found = item.get("Item")
        if found is None:
            return None
        try:
            expires_at = float(found["expires_at"]["N"])
            entry = StoredEntry(found["data"]["B"], float(found["stored_at"]["N"]))
        except (KeyError, TypeError, ValueError):
            raise StoreError("DynamoDB get_item: an item of the wrong shape") from None
        return entry if expires_at > time.time() else None

    async def put(self, key: bytes, entry: StoredEntry, ttl_seconds: int, owner: bytes) -> None:
        item = {
            "key": {"B": key},
            "owner": {"B": owner},
            "data": {"B": entry.data},
            "stored_at": {"N": repr(entry.stored_at)},
            "expires_at": {"N": str(int(entry.stored_at) + ttl_seconds)},
        }
        await asyncio.to_thread(self._call, "put_item", Item=item)

    def _call(self, operation: str, **arguments: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self._client, operation)(
                TableName=self._table, **arguments
            )
        except ClientError as error:  # throttled, no such table, access denied, too large
            code = error.response.get("Error", {}).get("Code", "unknown")
            raise StoreError(f"DynamoDB {operation} failed: {code}") from None
        except BotoCoreError as error:  # unreachable, timed out
            raise StoreError(f"DynamoDB {operation} failed: {type(error).__name__}") from None
        return result
