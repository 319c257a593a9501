"""Key-value storage: opaque bytes under a key, for a while.

`store` is the interface, `memory`, `sqlite` and `dynamodb` implement it, and `backends`
opens the one a URL names (`GATEWAY_CACHE_URL`, `GATEWAY_RESPONSES_STORE_URL`); `packed`
turns JSON into compressed bytes and back, trusting stored bytes no further. The response
cache and the Responses API state keep their records here, each under keys of its own;
nothing here knows about requests, tenants or chunks.
"""
