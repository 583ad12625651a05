"""One per-tenant rate limit across gateway instances: two limiters (two gateways) leasing from one
real gateway database, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from services.gateway.http.ratelimit import LEASE_SECONDS, TenantRateLimiter
from services.gateway.rate_leases import DatabaseLease, RateBudget
from services.gateway.tests.clock import Clock


@pytest.fixture
def engine(gateway_engine: Engine) -> Engine:
    return gateway_engine


def _gateway(engine: Engine, clock: Clock, *, per_second: float, burst: int) -> TenantRateLimiter:
    lease = DatabaseLease(engine=lambda: engine, per_second=per_second, burst=burst, wall_clock=clock)
    return TenantRateLimiter(per_second=per_second, burst=burst, lease=lease, clock=clock)


def test_two_gateways_share_one_budget_per_tenant(engine: Engine) -> None:
    clock = Clock()
    first, second = (_gateway(engine, clock, per_second=2, burst=6) for _ in range(2))

    admitted = [g.retry_after("acme") for g in (first, second) * 4]

    assert admitted == [None] * 6 + [1, 1]  # 6 in all, not 6 per gateway
    assert second.retry_after("other") is None  # tenants do not share a budget
    clock.now += 0.5  # one token refilled at 2/s, for whichever gateway asks first
    assert [second.retry_after("acme"), first.retry_after("acme")] == [None, 1]
    clock.now += 1000
    assert [first.retry_after("acme") for _ in range(7)] == [None] * 6 + [1]  # never above the burst


def test_concurrent_gateways_never_admit_more_than_the_burst(engine: Engine) -> None:
    clock = Clock()  # frozen: nothing refills, so exactly the burst may pass
    gateways = [_gateway(engine, clock, per_second=100, burst=40) for _ in range(2)]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: gateways[i % 2].retry_after("acme"), range(100)))

    assert answers.count(None) == 40  # leased in slices of 5, every leased token spent
    assert set(answers) - {None} == {1}  # the rest told to come back in a second
    with Session(engine) as session:
        budget = session.get(RateBudget, "acme")
        assert budget is not None and budget.tokens == 0  # every token handed out once


def test_leased_tokens_left_unspent_expire(engine: Engine) -> None:
    clock = Clock()
    gateway = _gateway(engine, clock, per_second=100, burst=10)  # leases 5 at a time

    assert gateway.retry_after("acme") is None  # leased 5, spent 1
    clock.now += LEASE_SECONDS  # the 4 left are dropped; the bucket refilled meanwhile
    assert [gateway.retry_after("acme") for _ in range(10)] == [None] * 10
    with Session(engine) as session:
        budget = session.get(RateBudget, "acme")
        assert budget is not None and budget.tokens == 0  # two new leases of 5 took the refilled 10
