"""The exact-match response cache: a repeated request answered from a store, per tenant.

`store` is the storage interface (opaque bytes under a key), `memory`, `sqlite` and
`dynamodb` implement it, `backends` picks one from `GATEWAY_CACHE_URL`; `entry` turns a
chunk sequence into those bytes and back; `streams` records and replays chunk streams;
`policy` decides, per request, whether the cache is read and written; `service` ties them
together for `gateway.completions`. Nothing here knows about doors or server-sent events.
"""
