"""Admission and settlement: reserve before the upstream call, settle when the answer ends.

A request reserves what it could use at most (one request; an upper bound of its input
plus its output limit, in tokens; those tokens at the dearest price they could be billed
at, in picodollars) in one atomic counter update, refused if any limit would be passed.
When the answer ends the reservation is settled to the provider's reported usage (or,
when the provider reported none because the client left, an estimate of what was
generated) in one more: a hard limit is never passed, however many environments share it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gateway.config import ModelRoute, Settings, TenantConfig
from gateway.core.chunks import USAGE_COUNTS, Usage
from gateway.core.usage import NO_USAGE, total_tokens
from gateway.errors import (
    BudgetExhausted,
    ConfigurationError,
    LimitExceeded,
    RequestRateExceeded,
    TokenRateExceeded,
    UsageStoreUnavailable,
)
from gateway.limits import windows
from gateway.limits.estimate import input_token_bound, output_token_bound
from gateway.limits.headers import Allowance, retry_after, rfc3339
from gateway.limits.prices import Price, bundled_price
from gateway.limits.rules import PICODOLLARS, Limits
from gateway.storage.counters import Counter, CounterStore, CounterUpdate
from gateway.storage.store import StoreError

HeadersFor = Callable[[tuple[Allowance, ...], float], dict[str, str]]
"""A door's way of showing an allowance (`gateway.limits.headers`)."""
StoreFailed = Callable[[str, Exception], None]
"""Told when the usage store fails (the service logs a warning and counts a metric)."""


@dataclass(frozen=True, slots=True)
class Settled:
    """What a request cost, for the request log."""

    usage: Usage
    cost_picodollars: int | None
    """None when the route has no price."""
    estimated: bool

    @property
    def cost_usd(self) -> float | None:
        c = self.cost_picodollars
        return None if c is None else c / PICODOLLARS


@dataclass(slots=True)
class Reservation:
    """One admitted request, until it is settled (once)."""

    limiter: Limiter
    tenant: TenantConfig
    route: ModelRoute
    estimate_input: Callable[[], int]
    """The request's input in tokens, about: charged when the provider reported none."""
    windows: dict[str, str]
    counters: tuple[Counter, ...]
    admitted_at: float
    allowances: tuple[Allowance, ...] = ()
    settled: Settled | None = field(default=None)

    async def settle(
        self,
        served_by: ModelRoute,
        usage: Usage | None,
        generated: int,
        cache_hit: bool,
        complete: bool = True,
    ) -> Settled:
        """Settle to `usage` (None: the provider reported none; `generated` chunks were
        relayed, each counted as a token; not `complete`: the provider's counts so far,
        its output at least `generated`). A response-cache hit costs nothing."""
        if self.settled is None:
            self.settled = await self.limiter.settle(
                self, served_by, usage, generated, cache_hit, complete
            )
        return self.settled

    async def release(self) -> None:
        """The call failed before anything was generated: nothing is charged."""
        await self.settle(self.route, NO_USAGE, 0, cache_hit=False)


def _scopes(tenant: TenantConfig, route: ModelRoute) -> list[tuple[str, Limits]]:
    """The tenant's own limits and the route's under it, each under a counter prefix."""
    scopes = [("", tenant.limits)] if tenant.limits is not None else []
    if (model := tenant.model_limits.get(route.name)) is not None:
        scopes.append((f"model:{route.name}:", model))
    return scopes


class Limiter:
    def __init__(
        self,
        settings: Settings,
        store: CounterStore,
        on_store_failure: StoreFailed,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._store = store
        self._on_store_failure = on_store_failure
        self._clock = clock
        self._prices: dict[str, Price | None] = {}
        for tenant in settings.tenants:
            self._check(tenant)

    @property
    def store(self) -> CounterStore:
        return self._store

    def price(self, route: ModelRoute) -> Price | None:
        if route.name not in self._prices:
            self._prices[route.name] = route.price or bundled_price(route.model)
        return self._prices[route.name]

    def _check(self, tenant: TenantConfig) -> None:
        """A tenant with a budget or a token limit may use only routes whose price and
        output limit are known: otherwise its spend could not be bounded."""
        for route in self._settings.models.values():
            if not tenant.may_use(route.name):
                continue
            scopes = [limits for _, limits in _scopes(tenant, route)]
            budgeted = any(limits.budget is not None for limits in scopes)
            if budgeted and self.price(route) is None:
                raise ConfigurationError(
                    f"GATEWAY_API_KEYS: tenant {tenant.tenant_id!r} has a budget and may use "
                    f'{route.name!r}, which has no price: give the route a "price"'
                )
            if (budgeted or any(limits.tokens_per_minute for limits in scopes)) and (
                self._output_limit(route) is None
            ):
                raise ConfigurationError(
                    f"GATEWAY_API_KEYS: tenant {tenant.tenant_id!r} has a token or budget "
                    f"limit and may use {route.name!r}, whose output limit is unknown: "
                    'give the route "max_output_tokens"'
                )

    def _output_limit(self, route: ModelRoute) -> int | None:
        price = self.price(route)
        return route.max_output_tokens or (price.max_output_tokens if price else None)

    def _dearest(self, tenant: TenantConfig, route: ModelRoute) -> Price | None:
        """The price a reservation is made at: the route's, or its fallback's if dearer."""
        candidates = [route]
        if route.fallback is not None and tenant.may_use(route.fallback):
            candidates.append(self._settings.models[route.fallback])
        prices = [p for p in map(self.price, candidates) if p is not None]
        return max(prices, key=lambda p: p.ceiling(1, 1), default=None)

    async def admit(
        self,
        tenant: TenantConfig,
        route: ModelRoute,
        body: dict[str, Any],
        headers_for: HeadersFor,
        estimate_input: Callable[[], int] | None = None,
    ) -> Reservation:
        """Reserve for one request, or raise the `LimitExceeded` that refuses it (with
        `headers_for`'s headers). `body` is a chat body, or a native protocol's (whose
        door gives `estimate_input`, else the chat estimate is used)."""
        now = self._clock()
        scopes = _scopes(tenant, route)
        needs_tokens = any(s.tokens_per_minute or s.budget for _, s in scopes)
        tokens = spend = 0
        if needs_tokens:
            output = output_token_bound(body, self._output_limit(route)) or 0
            input_tokens = input_token_bound(body)
            tokens = input_tokens + output
            price = self._dearest(tenant, route)
            spend = 0 if price is None else price.ceiling(input_tokens, output)
        window_ids = {"minute": windows.minute_id(now)}
        counters: list[Counter] = []
        for prefix, limits in scopes:
            if limits.requests_per_minute:
                counters.append(
                    Counter(prefix + "requests", 1, "minute", limits.requests_per_minute)
                )
            if limits.tokens_per_minute:
                if tokens > limits.tokens_per_minute:
                    raise _too_large(tokens, limits.tokens_per_minute)
                counters.append(
                    Counter(prefix + "tokens", tokens, "minute", limits.tokens_per_minute)
                )
            if limits.concurrent_requests:
                counters.append(Counter(prefix + "open", 1, None, limits.concurrent_requests))
            if limits.budget is not None:
                window_ids[prefix + "period"] = windows.period_id(limits.budget.period, now)
                counters.append(
                    Counter(prefix + "spend", spend, prefix + "period", limits.budget.picodollars)
                )
        reservation = Reservation(
            self,
            tenant,
            route,
            estimate_input or partial(_estimate_chat_input, body),
            window_ids,
            tuple(counters),
            now,
        )
        if not counters:
            return reservation
        update = CounterUpdate(tenant.tenant_id, window_ids, reservation.counters)
        try:
            counted = await self._store.update(update)
        except StoreError as error:
            self._on_store_failure("admit", error)
            if tenant.refuse_without_store:
                raise UsageStoreUnavailable(
                    "The gateway cannot check this key's limits right now; try again shortly."
                ) from None
            reservation.counters = ()  # admitted unchecked: nothing to settle but the ledger
            return reservation
        reservation.allowances = _allowances(scopes, counted.values, now)
        if not counted.applied:
            raise self._refusal(scopes, reservation, counted.values, now, headers_for)
        return reservation

    def _refusal(
        self,
        scopes: list[tuple[str, Limits]],
        reservation: Reservation,
        values: Any,
        now: float,
        headers_for: HeadersFor,
    ) -> LimitExceeded:
        over = [c for c in reservation.counters if values[c.name] + c.add > (c.ceiling or 0)]
        names = {c.name.rpartition(":")[2] for c in over}
        headers = headers_for(reservation.allowances, now)
        if "spend" in names:
            budget = next(
                limits.budget
                for prefix, limits in scopes
                if limits.budget is not None and any(c.name == prefix + "spend" for c in over)
            )
            ends = windows.period_end(budget.period, now)
            renews = "never renews" if ends is None else f"renews at {rfc3339(ends)}"
            return BudgetExhausted(
                f"You have reached your specified API usage limits: this key's budget of "
                f"${budget.usd:g} for the {budget.period} is spent (it {renews}).",
                headers=headers | {"x-should-retry": "false"},
            )
        wait = windows.minute_end(now) - now
        if names == {"open"}:
            wait = 1.0
            error: LimitExceeded = RequestRateExceeded(
                "Too many requests of this key are open at once; retry when one has ended.",
                headers=headers | retry_after(wait),
            )
            return error
        kind = TokenRateExceeded if "tokens" in names else RequestRateExceeded
        return kind(
            f"Rate limit reached for {kind.type} per minute; retry in {wait:.1f} s.",
            headers=headers | retry_after(wait),
        )

    async def settle(
        self,
        reservation: Reservation,
        served_by: ModelRoute,
        usage: Usage | None,
        generated: int,
        cache_hit: bool,
        complete: bool = True,
    ) -> Settled:
        estimated = (usage is None or not complete) and not cache_hit
        if cache_hit:
            usage = NO_USAGE
        elif usage is None:
            usage = _estimate(reservation.estimate_input(), generated)
        elif not complete:
            usage = usage | {"output_tokens": max(usage["output_tokens"], generated)}
        price = self.price(served_by)
        cost = None if price is None else price.cost(usage)
        now = self._clock()
        deltas = []
        for counter in reservation.counters:
            kind = counter.name.rpartition(":")[2]
            if kind == "tokens":
                deltas.append(Counter(counter.name, total_tokens(usage) - counter.add, "minute"))
            elif kind == "spend":
                deltas.append(Counter(counter.name, (cost or 0) - counter.add, counter.window))
            elif kind == "open":
                deltas.append(Counter(counter.name, -1))
        tenant = reservation.tenant.tenant_id
        try:
            if deltas:
                update = CounterUpdate(tenant, reservation.windows, tuple(deltas), settle=True)
                await self._store.update(update)
            await self._store.record(
                tenant,
                windows.day_of(now),
                reservation.route.name,
                {"requests": 1, "cost": cost or 0} | {k: usage[k] for k in USAGE_COUNTS},
            )
        except StoreError as error:
            self._on_store_failure("settle", error)
        return Settled(usage, cost, estimated)


def _estimate_chat_input(body: dict[str, Any]) -> int:
    from gateway.doors.messages_request import estimate_input_tokens

    return estimate_input_tokens(body)


def _estimate(input_tokens: int, generated: int) -> Usage:
    """What a stream cut short used, when the provider reported nothing: its input as
    the doors estimate it, and a token per chunk relayed."""
    return {
        "input_tokens": input_tokens,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "output_tokens": generated,
    }


def _too_large(tokens: int, limit: int) -> TokenRateExceeded:
    return TokenRateExceeded(
        f"This request may use up to {tokens} tokens (its input and its max_tokens), more "
        f"than this key's {limit} tokens per minute: send a smaller request or max_tokens.",
        headers={"x-should-retry": "false"},
    )


def _allowances(scopes: list[tuple[str, Limits]], values: Any, now: float) -> tuple[Allowance, ...]:
    """The tightest requests and tokens allowance after the update."""
    reset = windows.minute_end(now)
    found: dict[str, Allowance] = {}
    for prefix, limits in scopes:
        for kind, limit in (
            ("requests", limits.requests_per_minute),
            ("tokens", limits.tokens_per_minute),
        ):
            if limit:
                allowance = Allowance(kind, limit, limit - values.get(prefix + kind, 0), reset)  # type: ignore[arg-type]
                if kind not in found or allowance.remaining < found[kind].remaining:
                    found[kind] = allowance
    return tuple(found.values())
