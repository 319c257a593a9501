"""`dynamodb://TABLE` counters: one table every execution environment shares, so limits
bind across all of them.

An admission is one `UpdateItem`: `ADD` to every counter, on the condition that each
stays within its ceiling (the caller's arithmetic: conditions cannot add) and that the
item's windows are the current ones. When a window has ended the condition fails,
DynamoDB returns the item as it was (`ReturnValuesOnConditionCheckFailure`, no extra
read), and the same update is made once more against the windows found, setting the
ended windows' counters instead of adding to them: two requests at a minute's first
admission, one otherwise. A settlement is one `UpdateItem` that adds to the counters of
windows that have not ended. Neither is retried by the SDK: `ADD` is not idempotent.

The table: partition key `pk` and sort key `sk` (strings). Counters live under
`pk = "limits#<key>"`, `sk = "-"`; the ledger under `pk = "usage#<tenant>"`,
`sk = "<day>#<model>"`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from gateway.errors import ConfigurationError
from gateway.storage.counters import (
    LEDGER_COUNTS,
    WINDOW,
    Counted,
    CounterUpdate,
    Item,
    LedgerRow,
    apply,
)
from gateway.storage.store import StoreError

_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 1})
_ATTEMPTS = 4
"""Conditional updates made for one admission before giving up: a window that ended, and
(rarely) another environment that moved it again first."""


class _ConditionFailed(Exception):
    def __init__(self, item: Item) -> None:
        self.item = item


class DynamoDbCounters:
    exact_across_environments = True

    def __init__(self, table: str, variable: str = "GATEWAY_USAGE_URL") -> None:
        self._table = table
        self.requests = 0
        """Requests made (for the benchmark's count of write units)."""
        try:
            session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None)
            self._client: Any = session.client("dynamodb", config=_CLIENT_CONFIG)
        except BotoCoreError as error:
            raise ConfigurationError(f"{variable}: cannot use DynamoDB: {error}") from None

    async def update(self, update: CounterUpdate) -> Counted:
        return await asyncio.to_thread(self._update, update)

    def _update(self, update: CounterUpdate) -> Counted:
        believed: Item = {WINDOW + name: ident for name, ident in update.windows.items()}
        for _ in range(_ATTEMPTS):
            try:
                return Counted(True, self._conditional_add(update, believed))
            except _ConditionFailed as failed:
                found = {k: v for k, v in failed.item.items() if k.startswith(WINDOW)}
                if update.settle:
                    believed = {k: v for k, v in found.items() if k in believed}
                elif found == believed:  # the windows were right: a ceiling refused it
                    return Counted(False, apply(dict(failed.item), update).values)
                else:
                    believed = found
        raise StoreError("DynamoDB counters: the windows kept moving")

    def _conditional_add(self, update: CounterUpdate, believed: Item) -> dict[str, int]:
        """One `UpdateItem`, on the condition that the item's windows are as `believed`
        (at settlement: that the windows of the counters it adds to are)."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}

        def name(attribute: str) -> str:
            names[f"#n{len(names)}"] = attribute
            return f"#n{len(names) - 1}"

        def value(number: int | str) -> str:
            values[f":v{len(values)}"] = {"N" if isinstance(number, int) else "S": str(number)}
            return f":v{len(values) - 1}"

        adds, sets, conditions = [], [], []
        for window, ident in update.windows.items():
            was = believed.get(WINDOW + window)
            if update.settle and was != ident:
                continue  # its counters are left alone
            attribute = name(WINDOW + window)
            conditions.append(
                f"attribute_not_exists({attribute})"
                if was is None
                else f"{attribute} = {value(was)}"
            )
            if was != ident:
                sets.append(f"{attribute} = {value(ident)}")
        for counter in update.counters:
            current = (
                counter.window is None
                or believed.get(WINDOW + counter.window) == (update.windows[counter.window])
            )
            if not current and update.settle:
                continue
            attribute = name(counter.name)
            if not current:  # its window has ended: the count starts again
                sets.append(f"{attribute} = {value(counter.add)}")
                continue
            adds.append(f"{attribute} {value(counter.add)}")
            if counter.ceiling is not None:
                room = value(counter.ceiling - counter.add)
                conditions.append(f"(attribute_not_exists({attribute}) OR {attribute} <= {room})")
        clauses = [("SET", sets), ("ADD", adds)]
        expression = " ".join(f"{verb} {', '.join(parts)}" for verb, parts in clauses if parts)
        if not expression:
            return {}
        arguments: dict[str, Any] = {
            "Key": {"pk": {"S": "limits#" + update.key}, "sk": {"S": "-"}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if conditions:
            arguments["ConditionExpression"] = " AND ".join(conditions)
        item = _plain(self._call("update_item", **arguments).get("Attributes", {}))
        return {c.name: int(item.get(c.name, 0)) for c in update.counters}

    async def record(self, tenant: str, day: str, model: str, counts: Mapping[str, int]) -> None:
        names = {f"#c{i}": name for i, name in enumerate(LEDGER_COUNTS)}
        values = {f":c{i}": {"N": str(counts.get(name, 0))} for i, name in enumerate(LEDGER_COUNTS)}
        await asyncio.to_thread(
            self._call,
            "update_item",
            Key={"pk": {"S": "usage#" + tenant}, "sk": {"S": f"{day}#{model}"}},
            UpdateExpression="ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(LEDGER_COUNTS))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    async def ledger(self, tenant: str, start: str, end: str) -> list[LedgerRow]:
        return await asyncio.to_thread(self._ledger, tenant, start, end)

    def _ledger(self, tenant: str, start: str, end: str) -> list[LedgerRow]:
        rows: list[LedgerRow] = []
        arguments: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :start AND :end",
            "ExpressionAttributeValues": {
                ":pk": {"S": "usage#" + tenant},
                ":start": {"S": start},
                ":end": {"S": end + "#\uffff"},
            },
        }
        while True:
            page = self._call("query", **arguments)
            for item in page.get("Items", []):
                day, _, model = item["sk"]["S"].partition("#")
                counts = {
                    name: int(item[name]["N"]) if name in item else 0 for name in LEDGER_COUNTS
                }
                rows.append(LedgerRow(tenant, day, model, counts))
            if "LastEvaluatedKey" not in page:
                return rows
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _call(self, operation: str, **arguments: Any) -> dict[str, Any]:
        self.requests += 1
        try:
            result: dict[str, Any] = getattr(self._client, operation)(
                TableName=self._table, **arguments
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "unknown")
            if code == "ConditionalCheckFailedException":
                raise _ConditionFailed(_plain(error.response.get("Item", {}))) from None
            raise StoreError(f"DynamoDB {operation} failed: {code}") from None
        except BotoCoreError as error:
            raise StoreError(f"DynamoDB {operation} failed: {type(error).__name__}") from None
        return result


def _plain(item: Mapping[str, Any]) -> Item:
    return {k: int(v["N"]) if "N" in v else v["S"] for k, v in item.items() if "N" in v or "S" in v}
