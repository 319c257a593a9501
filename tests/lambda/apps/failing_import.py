"""A handler module whose import fails, as an app with missing configuration would."""

from __future__ import annotations

raise RuntimeError("GATEWAY_API_KEYS is not set")
