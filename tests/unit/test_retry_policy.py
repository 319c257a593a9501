"""Opening the provider before the first byte: fallback, one retry, and what the client's
SDK is told (`x-should-retry`) so that retries do not multiply.

The providers are a fake that fails as scripted per route; the service, its settings and
the request context are the real ones.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from functools import partial

from gateway.completions import CompletionService
from gateway.config import ModelRoute, Settings, TenantConfig
from gateway.context import RequestContext
from gateway.core.chunks import ChunkStream
from gateway.doors.chat import CHAT_COMPLETIONS
from gateway.errors import (
    GatewayError,
    InvalidRequest,
    UpstreamCredentialsRejected,
    UpstreamFailed,
    UpstreamRateLimited,
    UpstreamTimeout,
)
from gateway.params import split_params
from gateway.providers.base import UpstreamRequest
from tests.unit.fed_stream import FedStream

MODELS = {
    "primary": {"model": "openai/a", "api_base": "http://127.0.0.1:9/v1", "fallback": "backup"},
    "backup": {"model": "openai/b", "api_base": "http://127.0.0.1:9/v1"},
    "solo": {"model": "openai/c", "api_base": "http://127.0.0.1:9/v1"},
}
EVERYTHING = TenantConfig("acme", key_digests=())
NO_BACKUP = TenantConfig("globex", key_digests=(), allowed_models=frozenset({"primary", "solo"}))


@dataclass
class Attempt:
    route: str
    request: UpstreamRequest
    at: float


@dataclass
class ScriptedProviders:
    """Stands in for `gateway.providers.Providers`: each route fails with its scripted
    errors, one per attempt, then opens a stream."""

    failures: dict[str, list[GatewayError]] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)

    def for_route(self, route: ModelRoute) -> ScriptedProviders.Provider:
        return self.Provider(self, route.name)

    @dataclass
    class Provider:
        owner: ScriptedProviders
        route: str

        async def open(self, request: UpstreamRequest) -> ChunkStream:
            loop = asyncio.get_running_loop()
            self.owner.attempts.append(Attempt(self.route, request, loop.time()))
            pending = self.owner.failures.get(self.route, [])
            if pending:
                raise pending.pop(0)
            return FedStream()


@dataclass
class Outcome:
    served_by: str | None
    error: GatewayError | None
    attempts: list[Attempt]

    @property
    def routes(self) -> list[str]:
        return [attempt.route for attempt in self.attempts]


def open_provider(
    model: str,
    failures: dict[str, list[GatewayError]],
    tenant: TenantConfig = EVERYTHING,
    max_stream_seconds: float = 30.0,
) -> Outcome:
    """What `CompletionService` does before the first byte of a chat request for `model`."""
    settings = Settings.from_env(
        {
            "GATEWAY_MODELS": json.dumps(MODELS),
            "GATEWAY_MAX_STREAM_SECONDS": str(max_stream_seconds),
        }
    )
    providers = ScriptedProviders(failures)
    service = CompletionService(settings, providers)  # type: ignore[arg-type]
    chat = CHAT_COMPLETIONS.parse({"model": model, "messages": [{"role": "user", "content": "hi"}]})

    async def main() -> Outcome:
        route = service.route_for(tenant, model)
        door = CHAT_COMPLETIONS
        context = RequestContext.create(
            settings, tenant, route, door.name, door.id_prefix, chat, {}
        )
        try:
            params = split_params(chat.body)
            open_route = partial(
                service._open_route, context=context, params=lambda _: params, headers={}
            )
            served_by, _ = await service._open(context, open_route)
        except GatewayError as error:
            return Outcome(None, error, providers.attempts)
        return Outcome(served_by.name, None, providers.attempts)

    return asyncio.run(asyncio.wait_for(main(), timeout=10))


def failed() -> UpstreamFailed:
    return UpstreamFailed("The provider failed with status 500.")


def test_a_provider_that_opens_is_called_once() -> None:
    outcome = open_provider("solo", {})

    assert (outcome.served_by, outcome.routes) == ("solo", ["solo"])


def test_a_transient_failure_is_retried_once_on_the_same_route_after_a_backoff() -> None:
    outcome = open_provider("solo", {"solo": [failed()]})

    assert (outcome.served_by, outcome.routes) == ("solo", ["solo", "solo"])
    first, second = outcome.attempts
    assert second.at - first.at >= 0.1 - 0.005  # the shortest backoff (timer resolution)


def test_a_second_transient_failure_reaches_the_client_marked_do_not_retry() -> None:
    second = failed()

    outcome = open_provider("solo", {"solo": [failed(), second]})

    assert outcome.routes == ["solo", "solo"]
    assert outcome.error is second
    assert second.headers["x-should-retry"] == "false"


def test_a_failure_goes_to_the_fallback_the_tenant_may_use() -> None:
    outcome = open_provider("primary", {"primary": [failed()]})

    assert (outcome.served_by, outcome.routes) == ("backup", ["primary", "backup"])


def test_a_rate_limit_goes_to_the_fallback_too() -> None:
    limited = UpstreamRateLimited("Slow down.", headers={"retry-after": "4"})

    outcome = open_provider("primary", {"primary": [limited]})

    assert (outcome.served_by, outcome.routes) == ("backup", ["primary", "backup"])


def test_a_failing_fallback_is_not_tried_again() -> None:
    last = failed()

    outcome = open_provider("primary", {"primary": [failed()], "backup": [last, failed()]})

    assert outcome.routes == ["primary", "backup"]
    assert outcome.error is last
    assert last.headers["x-should-retry"] == "false"


def test_a_fallback_the_tenant_may_not_use_is_never_called() -> None:
    outcome = open_provider("primary", {"primary": [failed()]}, tenant=NO_BACKUP)

    assert (outcome.served_by, outcome.routes) == ("primary", ["primary", "primary"])


def test_no_retry_when_the_deadline_leaves_no_time_for_one() -> None:
    error = failed()

    outcome = open_provider("solo", {"solo": [error]}, max_stream_seconds=0.3)

    assert outcome.routes == ["solo"]
    assert outcome.error is error
    assert error.headers["x-should-retry"] == "false"


def test_rejected_gateway_credentials_are_not_retried_and_say_so() -> None:
    rejected = UpstreamCredentialsRejected("The provider rejected the gateway's credentials.")

    outcome = open_provider("solo", {"solo": [rejected]})

    assert outcome.routes == ["solo"]
    assert outcome.error is rejected
    assert rejected.headers["x-should-retry"] == "false"


def test_a_rate_limit_without_fallback_keeps_retry_after_and_lets_the_sdk_wait() -> None:
    limited = UpstreamRateLimited("Slow down.", headers={"retry-after": "4"})

    outcome = open_provider("solo", {"solo": [limited]})

    assert outcome.routes == ["solo"]
    assert outcome.error is limited
    assert limited.headers == {"retry-after": "4"}


def test_an_upstream_timeout_is_not_retried_here_and_the_sdk_may_retry() -> None:
    timeout = UpstreamTimeout("Gateway timeout: the provider did not answer in time.")

    outcome = open_provider("solo", {"solo": [timeout]})

    assert outcome.routes == ["solo"]
    assert outcome.error is timeout
    assert "x-should-retry" not in timeout.headers


def test_a_request_the_provider_refuses_is_passed_on_untouched() -> None:
    refused = InvalidRequest("max_tokens is too large.", param="max_tokens")

    outcome = open_provider("primary", {"primary": [refused]})

    assert outcome.routes == ["primary"]
    assert outcome.error is refused
    assert refused.headers == {}


def test_the_upstream_timeout_never_outlasts_the_requests_deadline() -> None:
    outcome = open_provider("solo", {"solo": [failed()]}, max_stream_seconds=5.0)

    assert [a.request.timeout_seconds <= 5.0 for a in outcome.attempts] == [True, True]
    assert outcome.attempts[1].request.timeout_seconds < outcome.attempts[0].request.timeout_seconds
