"""Per-tenant limits, prices and usage.

`rules` reads a tenant's limits, `prices` what a route's tokens cost, `counters` the
atomic counter operation every usage store implements, `admission` reserves before the
upstream call and settles when the answer ends, `headers` shows the allowance in each
door's vocabulary, `report` answers `GET /v1/usage`.
"""
