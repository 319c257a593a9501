"""The semantic tier of the response cache: a paraphrase answered with an earlier answer.

Behind the exact tier, for routes with `"semantic_cache": true`: `question` decides whether
a request is eligible and which partition it belongs to (everything but the wording of
its last user turn, and the tenant); `embedding` turns that wording into a vector;
`index` keeps each partition's vectors in the exact tier's store and finds the nearest;
`verify` decides whether a near one asks the same thing. A hit replays the matched
request's answer from the exact tier. Imported only when a route turns it on.
"""
