"""A Lambda Runtime API client that serves any ASGI app and streams Function URL responses.

The managed Python runtime buffers every response; `AWS_LAMBDA_EXEC_WRAPPER` lets this
package replace its runtime client while the managed runtime (and SnapStart) stay.
"""

from __future__ import annotations

__version__ = "0.1.0"
