"""The keys and the environment the tests configure the gateway with."""

from __future__ import annotations

import hashlib
import json

import httpx

TENANT_KEY = "sk-test-acme-0123456789"
OTHER_TENANT_KEY = "sk-test-globex-9876543210"
PROVIDER_KEY = "sk-provider-secret-abcdef"
HASH_KEY = "test-hash-key-5f1d0c"


def gateway_env(upstream_url: str, **overrides: str) -> dict[str, str]:
    """Two tenants (`acme` may use every model, `globex` only `echo`) and three routes:
    `echo` (built in), `direct` (the direct path) and `via-litellm` (LiteLLM), the last
    two to the fake upstream at `upstream_url`."""
    other_digest = hashlib.sha256(OTHER_TENANT_KEY.encode()).hexdigest()
    env = {
        "GATEWAY_API_KEYS": json.dumps(
            {
                "acme": [TENANT_KEY],
                "globex": {"keys": [f"sha256:{other_digest}"], "models": ["echo"]},
            }
        ),
        "GATEWAY_MODELS": json.dumps(
            {
                "echo": {"model": "echo"},
                "direct": {
                    "model": "openai/scripted",
                    "api_base": upstream_url,
                    "api_key_env": "FAKE_PROVIDER_KEY",
                },
                "via-litellm": {
                    "model": "openai/scripted",
                    "api_base": upstream_url,
                    "api_key_env": "FAKE_PROVIDER_KEY",
                    "provider": "litellm",
                },
            }
        ),
        "FAKE_PROVIDER_KEY": PROVIDER_KEY,
        "GATEWAY_HASH_KEY": HASH_KEY,
        "GATEWAY_KEEPALIVE_SECONDS": "15",
    }
    env.update(overrides)
    return env


def chat(
    url: str,
    model: str,
    content: str = "hi",
    stream: bool = False,
    *,
    key: str = TENANT_KEY,
    timeout: float = 30.0,
) -> httpx.Response:
    """One chat completion from the gateway at `url` (read whole, streamed or not)."""
    return httpx.post(
        f"{url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={"model": model, "stream": stream, "messages": [{"role": "user", "content": content}]},
        timeout=timeout,
    )
