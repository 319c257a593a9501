"""Gateway settings, read once from the environment at start.

Invalid configuration raises `ConfigurationError` at start (fail fast), and its messages
name the variable but never echo its value: the value may hold keys.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from types import MappingProxyType
from typing import Any, Literal

from gateway.errors import ConfigurationError
from gateway.limits.prices import Price, parse_price
from gateway.limits.rules import Limits, parse_limits
from gateway.storage.store import OwnerBounds

ProviderKind = Literal["openai-compatible", "litellm", "echo"]
NativeProtocol = Literal["messages", "responses"]
PROVIDER_KINDS: tuple[ProviderKind, ...] = ("openai-compatible", "litellm", "echo")

ECHO_MODEL = "echo"
DEFAULT_MODELS = '{"echo": {"model": "echo"}}'
# Not a secret: it only makes tenant hashes differ from a plain hash of the tenant id.
# Operators who want hashes that cannot be recomputed elsewhere set GATEWAY_HASH_KEY.
DEFAULT_HASH_KEY = "lambda-llm-gateway/tenant-hash/v1"


class Secret:
    """A string that never shows itself in repr, str or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


FEATURES = frozenset(
    {
        "mcp_servers",
        "container",
        "files",
        "service_tier",
        "background",
        "conversation",
        "prompt",
    }
)
"""Request features that reach outside the request or spend beyond tokens, named in a
route's `allow.features` (see `Allowances`): the last three are the Responses API's
(`background: true`; `conversation` and `item_reference` input items, state the provider
keeps under the operator's key; `prompt`, the provider's stored prompt templates)."""


@dataclass(frozen=True, slots=True)
class Allowances:
    """What requests on a route may use beyond tokens (the route's `"allow"` option): the
    provider's server tools (run and billed on the operator's account), `anthropic-beta`
    values besides the default ones, and `FEATURES`. Enforced where a request passes
    through natively (`gateway.doors.messages_native`) and on translated requests
    (`gateway.params.check_allowances`)."""

    server_tools: frozenset[str] = frozenset()
    """Server tool names without their version date (`web_search`, `code_execution`)."""
    betas: frozenset[str] = frozenset()
    features: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ModelRoute:
    """Where a public model name is served from."""

    name: str
    model: str
    provider: ProviderKind
    api_base: str | None = None
    api_key: Secret | None = None
    fallback: str | None = None
    """Another route to try when this one fails before the first byte."""
    cache_ttl_seconds: int | None = None
    """How long this route's answers are cached; None: `Settings.cache_ttl_seconds`."""
    price: Price | None = None
    """What its tokens cost; None: LiteLLM's price list (`gateway.limits.prices`)."""
    max_output_tokens: int | None = None
    """The most a request without `max_tokens` may generate, for reservations; None: the
    price list's figure for the model."""
    semantic_cache: bool = False
    """Whether a paraphrase may be answered from the cache (`gateway.cache.semantic`)."""
    allow: Allowances = Allowances()
    responses_api: bool = False
    """Whether the provider serves OpenAI's Responses API at `<api_base>/responses` (the
    `responses_api` option; by default, OpenAI's own API)."""

    @property
    def native_protocol(self) -> NativeProtocol | None:
        """The protocol the route's provider speaks besides chat completions, in which a
        door of the same protocol passes requests through untranslated: Anthropic's
        Messages API for `anthropic/...` models served through LiteLLM's provider kind
        (Anthropic's API, or an Anthropic-compatible `api_base`) and for Claude on
        Bedrock; OpenAI's Responses API for OpenAI-compatible routes with
        `responses_api`."""
        if self.provider == "litellm" and (
            self.model.startswith("anthropic/") or self.claude_on_bedrock
        ):
            return "messages"
        if self.responses_api:
            return "responses"
        return None

    @property
    def claude_on_bedrock(self) -> bool:
        """Claude on Amazon Bedrock through LiteLLM, whose native Messages interface
        serves it in Anthropic's protocol (`providers.litellm_messages`)."""
        return (
            self.provider == "litellm"
            and self.model.startswith("bedrock/")
            and "anthropic.claude" in self.model
        )

    @property
    def upstream_model(self) -> str:
        """The model name an OpenAI-compatible upstream expects (no `openai/` prefix)."""
        prefix, _, rest = self.model.partition("/")
        return rest if prefix == "openai" and rest else self.model


@dataclass(frozen=True, slots=True)
class TenantConfig:
    """A tenant: its id, the SHA-256 digests of its keys, and the models it may use."""

    tenant_id: str
    key_digests: tuple[bytes, ...]
    allowed_models: frozenset[str] | None = None
    cache: bool = True
    """False: this tenant's requests are never answered from or stored in the cache."""
    limits: Limits | None = None
    """What the tenant may use in all (`gateway.limits`); None: no limit."""
    model_limits: Mapping[str, Limits] = field(default_factory=lambda: MappingProxyType({}))
    """Limits of its own per public model name, on top of `limits`."""
    refuse_without_store: bool = False
    """Whether a request is refused when the usage store cannot be reached (else
    admitted with a warning); by default, for tenants with a budget."""
    usage_admin: bool = False
    """Whether `GET /v1/usage` shows this key every tenant's usage."""

    @property
    def limited(self) -> bool:
        return self.limits is not None or bool(self.model_limits)

    def may_use(self, model: str) -> bool:
        return self.allowed_models is None or model in self.allowed_models


def _limit(variable: str, default: float, minimum: float | None = None) -> Any:
    """A limit's default and the variable that overrides it: the one place both are
    written (`Settings.from_env` reads every limit through this metadata). Without a
    `minimum` the value must be greater than 0."""
    return field(default=default, metadata={"variable": variable, "minimum": minimum})


@dataclass(frozen=True, slots=True)
class Settings:
    tenants: tuple[TenantConfig, ...] = ()
    models: Mapping[str, ModelRoute] = field(default_factory=lambda: MappingProxyType({}))
    keepalive_seconds: float = _limit("GATEWAY_KEEPALIVE_SECONDS", 15.0)
    max_body_bytes: int = _limit("GATEWAY_MAX_BODY_BYTES", 4 * 1024 * 1024)
    connect_timeout_seconds: float = _limit("GATEWAY_CONNECT_TIMEOUT_SECONDS", 10.0)
    upstream_timeout_seconds: float = _limit("GATEWAY_UPSTREAM_TIMEOUT_SECONDS", 60.0)
    idle_timeout_seconds: float = _limit("GATEWAY_IDLE_TIMEOUT_SECONDS", 300.0)
    max_stream_seconds: float = _limit("GATEWAY_MAX_STREAM_SECONDS", 900.0)
    deadline_margin_seconds: float = _limit("GATEWAY_DEADLINE_MARGIN_SECONDS", 2.0)
    echo_word_delay_seconds: float = _limit("GATEWAY_ECHO_WORD_DELAY_SECONDS", 0.0, minimum=0)
    max_embeddings_response_bytes: int = _limit(
        "GATEWAY_MAX_EMBEDDINGS_RESPONSE_BYTES", 64 * 1024 * 1024
    )
    tenant_state_bytes: int = _limit("GATEWAY_TENANT_STATE_BYTES", 16 * 1024 * 1024)
    """Bytes of stored (compressed) data one tenant may keep in one embedded store."""
    tenant_state_entries: int = _limit("GATEWAY_TENANT_STATE_ENTRIES", 10_000)
    """Entries (cached answers, stored responses) one tenant may keep in one embedded store."""
    forward_headers: frozenset[str] = frozenset()
    """Client request headers passed on to providers; nothing else is."""
    cors_origins: tuple[str, ...] = ()
    """Browser origins allowed to call the gateway; none by default (CORS closed)."""
    hash_key: bytes = field(default_factory=lambda: derive_hash_key(DEFAULT_HASH_KEY))
    hash_key_secret: Secret | None = None
    """`GATEWAY_HASH_KEY` as configured; None when the public default key is in use, so
    hashes are guessable and are not shown outside the gateway."""
    cache_ttl_seconds: int = 0
    """How long answers are cached unless a route says otherwise; 0: not cached."""
    cache_url: str = ""
    """Where cached answers are kept (`gateway.storage.backends`); empty: a temp-dir file."""
    responses_store_url: str | None = ""
    usage_url: str = ""
    """Where usage counters and the usage ledger are kept (the cache's URL syntax);
    empty: a SQLite file in the temp directory, exact within one execution environment."""
    """Where Responses API responses are kept, in the cache's URL syntax; None: nowhere."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        hash_key = env.get("GATEWAY_HASH_KEY")
        return cls(
            tenants=parse_tenants(env.get("GATEWAY_API_KEYS", "")),
            models=parse_models(env.get("GATEWAY_MODELS") or DEFAULT_MODELS, env),
            forward_headers=parse_forward_headers(env.get("GATEWAY_FORWARD_HEADERS", "")),
            cors_origins=_names(env.get("GATEWAY_CORS_ORIGINS", "")),
            hash_key=derive_hash_key(hash_key or DEFAULT_HASH_KEY),
            hash_key_secret=Secret(hash_key) if hash_key else None,
            cache_ttl_seconds=_ttl(
                env.get("GATEWAY_CACHE_TTL_SECONDS") or 0, "GATEWAY_CACHE_TTL_SECONDS"
            ),
            cache_url=env.get("GATEWAY_CACHE_URL", "").strip(),
            usage_url=env.get("GATEWAY_USAGE_URL", "").strip(),
            responses_store_url=_store_url(env.get("GATEWAY_RESPONSES_STORE_URL", "")),
            **{limit.name: _read_limit(env, limit) for limit in LIMITS},
        )

    @property
    def owner_bounds(self) -> OwnerBounds:
        """What each tenant may keep in each store."""
        return OwnerBounds(self.tenant_state_bytes, self.tenant_state_entries)

    def secret_values(self) -> tuple[str, ...]:
        """Every configured secret: what provider text is redacted of."""
        keys = [route.api_key for route in self.models.values()] + [self.hash_key_secret]
        return tuple(key.reveal() for key in keys if key is not None)


# Headers that describe the client's own connection, or carry credentials under a name
# that does not say so (the providers' own key headers).
NEVER_FORWARDED = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "api-key",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
    }
)
_CREDENTIAL_WORDS = re.compile(
    r"auth|key|token|secret|session|cookie|signature|security|credential|password"
)
"""A header whose name holds one of these words is credential-shaped."""


def _never_forwarded(name: str) -> bool:
    """Whether a header may never be forwarded to a provider: the connection's own, and
    anything credential-shaped (by its name, every `x-amz-*`, the known key headers)."""
    return (
        name in NEVER_FORWARDED
        or name.startswith("x-amz-")
        or _CREDENTIAL_WORDS.search(name) is not None
    )


def _store_url(text: str) -> str | None:
    """`off` turns a store off; empty is the default store."""
    text = text.strip()
    return None if text.lower() == "off" else text


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def parse_forward_headers(text: str) -> frozenset[str]:
    names = frozenset(name.lower() for name in _names(text))
    if refused := sorted(filter(_never_forwarded, names)):
        raise ConfigurationError(f"GATEWAY_FORWARD_HEADERS may not include {', '.join(refused)}")
    return names


def derive_hash_key(configured: str) -> bytes:
    """A 32-byte BLAKE2 key from a configured string of any length."""
    return hashlib.sha256(configured.encode()).digest()


LIMITS = tuple(f for f in fields(Settings) if "variable" in f.metadata)
"""The settings read by `_read_limit`, with their variables and defaults."""


def _read_limit(env: Mapping[str, str], limit: Field[Any]) -> Any:
    variable, minimum = limit.metadata["variable"], limit.metadata["minimum"]
    default: float = limit.default  # type: ignore[assignment]  # every limit has one
    if minimum is None:
        value = _positive(env, variable, default)
    else:
        value = _number(env, variable, default, minimum)
    return int(value) if isinstance(default, int) else value


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number") from None
    if not minimum <= value < float("inf"):
        raise ConfigurationError(f"{name} must be at least {minimum:g}")
    return value


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = _number(env, name, default, 0.0)
    if value == 0:
        raise ConfigurationError(f"{name} must be greater than 0")
    return value


def _ttl(raw: object, name: str) -> int:
    """A cache lifetime: a whole number of seconds (JSON number or digits), 0 for none."""
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw < 2**31:
        raise ConfigurationError(f"{name} must be a whole number of seconds (0 or more)")
    return raw


def _load_json_object(text: str, name: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise ConfigurationError(f"{name} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"{name} must be a JSON object")
    return value


def key_digest(key: str) -> bytes:
    """The SHA-256 digest under which a key is stored and looked up."""
    return hashlib.sha256(key.encode()).digest()


def _parse_key(raw: object, tenant_id: str) -> bytes:
    if not isinstance(raw, str) or not raw:
        raise ConfigurationError(f"GATEWAY_API_KEYS: tenant {tenant_id!r} has an empty key")
    if raw.startswith("sha256:"):
        try:
            digest = bytes.fromhex(raw.removeprefix("sha256:"))
        except ValueError:
            digest = b""
        if len(digest) != 32:
            raise ConfigurationError(
                f"GATEWAY_API_KEYS: tenant {tenant_id!r} has a sha256: entry "
                "that is not 64 hex digits"
            )
        return digest
    return key_digest(raw)


def parse_tenants(text: str) -> tuple[TenantConfig, ...]:
    """Parse `{"tenant": ["key" | "sha256:<hex>", ...]}` or
    `{"tenant": {"keys": [...], "models"?: [...], "cache"?: false, "limits"?: {...},
    "model_limits"?: {"model": {...}}, "if_store_unavailable"?: "refuse" | "admit",
    "usage_admin"?: true}}`. Empty: no tenants."""
    if not text.strip():
        return ()
    tenants = []
    for tenant_id, entry in _load_json_object(text, "GATEWAY_API_KEYS").items():
        if not tenant_id:
            raise ConfigurationError("GATEWAY_API_KEYS: a tenant id is empty")
        keys, models = (entry, None) if isinstance(entry, list) else _tenant_object(entry)
        if not isinstance(keys, list) or not keys:
            raise ConfigurationError(f"GATEWAY_API_KEYS: tenant {tenant_id!r} needs a key list")
        if models is not None and not (
            isinstance(models, list) and all(isinstance(m, str) for m in models)
        ):
            raise ConfigurationError(
                f"GATEWAY_API_KEYS: tenant {tenant_id!r} models must be a list of names"
            )
        options = entry if isinstance(entry, dict) else {}
        raw_limits = options.get("limits")
        limits = None if raw_limits is None else parse_limits(raw_limits, f"tenant {tenant_id!r}")
        model_limits = _model_limits(options.get("model_limits", {}), tenant_id)
        budgeted = any(r.budget is not None for r in (limits or Limits(), *model_limits.values()))
        store_failure = options.get("if_store_unavailable")
        tenants.append(
            TenantConfig(
                tenant_id=tenant_id,
                key_digests=tuple(_parse_key(k, tenant_id) for k in keys),
                allowed_models=None if models is None else frozenset(models),
                cache=_flag(options.get("cache", True), tenant_id, "cache"),
                limits=limits,
                model_limits=model_limits,
                refuse_without_store=_store_failure(store_failure, tenant_id, budgeted),
                usage_admin=_flag(options.get("usage_admin", False), tenant_id, "usage_admin"),
            )
        )
    return tuple(tenants)


def _flag(value: object, tenant_id: str, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(
            f'GATEWAY_API_KEYS: tenant {tenant_id!r} "{name}" must be true or false'
        )
    return value


def _model_limits(raw: object, tenant_id: str) -> Mapping[str, Limits]:
    if not isinstance(raw, dict):
        raise ConfigurationError(
            f"GATEWAY_API_KEYS: tenant {tenant_id!r} model_limits must map model names to limits"
        )
    return MappingProxyType(
        {
            model: parse_limits(rules, f"tenant {tenant_id!r} model {model!r}")
            for model, rules in raw.items()
        }
    )


def _store_failure(value: object, tenant_id: str, budgeted: bool) -> bool:
    """`"refuse"` or `"admit"`; absent: refuse for a tenant with a budget."""
    if value is None:
        return budgeted
    if value not in ("refuse", "admit"):
        raise ConfigurationError(
            f"GATEWAY_API_KEYS: tenant {tenant_id!r} if_store_unavailable must be "
            '"refuse" or "admit"'
        )
    return value == "refuse"


def _tenant_object(entry: object) -> tuple[object, object]:
    if not isinstance(entry, dict):
        raise ConfigurationError("GATEWAY_API_KEYS: each tenant maps to a list or an object")
    return entry.get("keys"), entry.get("models")


def _default_provider(model: str) -> ProviderKind:
    if model == ECHO_MODEL:
        return "echo"
    if model.startswith("openai/"):
        return "openai-compatible"
    return "litellm"


def _responses_api(entry: dict[str, Any], name: str, provider: str, model: str) -> bool:
    """The `responses_api` option, for OpenAI-compatible routes (the `openai-compatible`
    kind, or `openai/...` models through LiteLLM); default: true for OpenAI's own API
    (no `api_base`, or one on api.openai.com), false for the others."""
    openai_like = provider == "openai-compatible" or model.startswith("openai/")
    api_base = entry.get("api_base")
    by_default = openai_like and (api_base is None or _is_openai(api_base))
    value = entry.get("responses_api", by_default)
    if not isinstance(value, bool):
        raise ConfigurationError(f"GATEWAY_MODELS: {name!r} responses_api must be true or false")
    if value and not openai_like:
        raise ConfigurationError(
            f"GATEWAY_MODELS: {name!r} responses_api needs an OpenAI-compatible route"
        )
    return value


def _is_openai(api_base: object) -> bool:
    return isinstance(api_base, str) and api_base.rstrip("/") in (
        "https://api.openai.com",
        "https://api.openai.com/v1",
    )


def _allowances(allow: object, route: str) -> Allowances:
    """`{"server_tools"?: [...], "betas"?: [...], "features"?: [...]}`, all lists of names."""
    if allow is None:
        return Allowances()
    where = f"GATEWAY_MODELS: {route!r} allow"
    if not isinstance(allow, dict) or not set(allow) <= {"server_tools", "betas", "features"}:
        raise ConfigurationError(f"{where} must be an object of server_tools, betas, features")
    features = _name_set(allow.get("features"), f"{where}.features")
    if not features <= FEATURES:
        raise ConfigurationError(f"{where}.features may hold only {', '.join(sorted(FEATURES))}")
    return Allowances(
        server_tools=_name_set(allow.get("server_tools"), f"{where}.server_tools"),
        betas=_name_set(allow.get("betas"), f"{where}.betas"),
        features=features,
    )


def _name_set(names: object, where: str) -> frozenset[str]:
    if names is None:
        return frozenset()
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ConfigurationError(f"{where} must be a list of names")
    return frozenset(names)


def parse_models(text: str, env: Mapping[str, str]) -> Mapping[str, ModelRoute]:
    """Parse `{"name": {"model": ..., "api_base"?, "api_key_env"?, "provider"?, "fallback"?,
    "cache_ttl_seconds"?, "price"?, "max_output_tokens"?, "semantic_cache"?, "allow"?,
    "responses_api"?}}`.

    Provider keys are read from the variables the routes name, here, once.
    """
    routes: dict[str, ModelRoute] = {}
    for name, entry in _load_json_object(text, "GATEWAY_MODELS").items():
        if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
            raise ConfigurationError(f'GATEWAY_MODELS: {name!r} needs a "model" string')
        model: str = entry["model"]
        provider = entry.get("provider") or _default_provider(model)
        if provider not in PROVIDER_KINDS:
            raise ConfigurationError(
                f"GATEWAY_MODELS: {name!r} has provider {provider!r}; "
                f"expected one of {', '.join(PROVIDER_KINDS)}"
            )
        api_key: Secret | None = None
        key_env = entry.get("api_key_env")
        if key_env is not None:
            if not isinstance(key_env, str) or not env.get(key_env):
                raise ConfigurationError(
                    f"GATEWAY_MODELS: {name!r} names api_key_env {key_env!r}, which is not set"
                )
            api_key = Secret(env[key_env])
        api_base = entry.get("api_base")
        if api_base is not None and not isinstance(api_base, str):
            raise ConfigurationError(f"GATEWAY_MODELS: {name!r} api_base must be a string")
        if provider == "openai-compatible" and not api_base and not model.startswith("openai/"):
            raise ConfigurationError(f"GATEWAY_MODELS: {name!r} needs an api_base")
        fallback = entry.get("fallback")
        if fallback is not None and not isinstance(fallback, str):
            raise ConfigurationError(f"GATEWAY_MODELS: {name!r} fallback must be a model name")
        ttl = entry.get("cache_ttl_seconds")
        price = entry.get("price")
        output_limit = entry.get("max_output_tokens")
        if output_limit is not None and (
            isinstance(output_limit, bool) or not isinstance(output_limit, int) or output_limit < 1
        ):
            raise ConfigurationError(
                f"GATEWAY_MODELS: {name!r} max_output_tokens must be a whole number above 0"
            )
        semantic = entry.get("semantic_cache", False)
        if not isinstance(semantic, bool):
            raise ConfigurationError(
                f"GATEWAY_MODELS: {name!r} semantic_cache must be true or false"
            )
        routes[name] = ModelRoute(
            name=name,
            model=model,
            provider=provider,
            api_base=api_base,
            api_key=api_key,
            fallback=fallback,
            cache_ttl_seconds=None
            if ttl is None
            else _ttl(ttl, f"GATEWAY_MODELS: {name!r} cache_ttl_seconds"),
            price=None if price is None else parse_price(price, name),
            max_output_tokens=output_limit,
            semantic_cache=semantic,
            allow=_allowances(entry.get("allow"), name),
            responses_api=_responses_api(entry, name, provider, model),
        )
    for route in routes.values():
        if route.fallback is not None and route.fallback not in routes.keys() - {route.name}:
            raise ConfigurationError(
                f"GATEWAY_MODELS: {route.name!r} falls back to {route.fallback!r}, "
                "which is not another configured model"
            )
    return MappingProxyType(routes)
