"""`python -m streaming_runtime`: what the layer's `bootstrap` runs."""

from __future__ import annotations

from streaming_runtime.loop import main

main()
