"""One rate limit per tenant across every gateway instance: a token bucket in the gateway database.

Each instance leases a slice of the tenant's budget (``TenantRateLimiter`` in
``services/gateway/http/ratelimit.py``) and spends it locally, so the database sees one short
transaction per slice, not per request. A token is handed out once, by the row's lock, so N gateways
together never admit more than the bucket allows; tokens an instance leased and did not spend in time
are dropped, never given back twice (docs/operations.md, "Rate limit").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlmodel import Field, Session, SQLModel, select


class RateBudget(SQLModel, table=True):
    __tablename__ = "rate_budgets"

    tenant_id: str = Field(primary_key=True)
    tokens: float
    updated_at: float  # seconds since the epoch, the wall clock every instance shares


RATE_TABLES: tuple[type[SQLModel], ...] = (RateBudget,)


@dataclass(frozen=True)
class Grant:
    tokens: int  # how many requests the instance may admit from this lease
    retry_after_s: float  # when none: how long until the bucket holds one again


def _locked_budget(session: Session, *, tenant: str, burst: int, now: float) -> RateBudget:
    """The tenant's row, locked until the transaction ends (SQLite: its write lock already is)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "INSERT INTO rate_budgets (tenant_id, tokens, updated_at) VALUES (:t, :b, :n)"
                " ON CONFLICT DO NOTHING"
            ),
            {"t": tenant, "b": float(burst), "n": now},
        )
        return session.exec(select(RateBudget).where(RateBudget.tenant_id == tenant).with_for_update()).one()
    found = session.get(RateBudget, tenant)
    return found or RateBudget(tenant_id=tenant, tokens=float(burst), updated_at=now)


def lease_tokens(
    session: Session, *, tenant: str, wanted: int, per_second: float, burst: int, now: float
) -> Grant:
    """Up to ``wanted`` tokens from the tenant's bucket (refilled at ``per_second``, at most
    ``burst``); fewer, or none, when the bucket holds fewer."""
    budget = _locked_budget(session, tenant=tenant, burst=burst, now=now)
    elapsed = max(0.0, now - budget.updated_at)  # a clock behind another instance's refills nothing
    tokens = min(float(burst), budget.tokens + elapsed * per_second)
    granted = min(wanted, int(tokens))
    budget.tokens, budget.updated_at = tokens - granted, max(now, budget.updated_at)
    session.add(budget)
    return Grant(granted, 0.0 if granted else (1.0 - tokens) / per_second)


@dataclass(frozen=True)
class DatabaseLease:
    """Leases for a ``TenantRateLimiter``, from the database ``engine()`` names (the gateway's own,
    known once it started)."""

    engine: Callable[[], Engine]
    per_second: float
    burst: int
    wall_clock: Callable[[], float] = time.time

    def __call__(self, tenant: str, wanted: int) -> Grant:
        with Session(self.engine()) as session, session.begin():
            return lease_tokens(
                session,
                tenant=tenant,
                wanted=wanted,
                per_second=self.per_second,
                burst=self.burst,
                now=self.wall_clock(),
            )
