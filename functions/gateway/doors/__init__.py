"""The front doors: one module per wire format the gateway speaks.

Each door parses its own request into the one internal request (`gateway.core`: an
OpenAI chat-completions body), and turns the one internal chunk stream into its own
events, JSON body and error shape, over the contract in `base` (`validate` checks a
client's JSON by path). Routing, retries, limits, keep-alive timing and the cache are
shared and know nothing of any door.
"""
