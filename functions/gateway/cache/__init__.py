"""The exact-match response cache: a repeated request answered from a store, per tenant.

Answers are kept in a `gateway.storage` store (`GATEWAY_CACHE_URL`); `entry` turns a
chunk sequence into stored bytes and back; `streams` records and replays chunk streams;
`policy` decides, per request, whether the cache is read and written; `service` ties them
together for `gateway.completions`, and `report` is how it says what it did. Nothing here
knows about doors, server-sent events, the request log or metrics.
"""
