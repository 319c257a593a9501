"""The gateway's own vocabulary: the one internal request, the chunk stream, and the one
check that a chunk has the shape every consumer relies on.

Doors, providers, the cache, the collector and the event stream all import these; this
package imports nothing of the gateway but its errors. The chunk types are `TypedDict`s:
checked by mypy, plain dicts at run time.
"""
