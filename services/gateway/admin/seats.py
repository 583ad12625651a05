"""Admin API for seats: usage, the limit, and reconciliation. Changes are commands to the owners."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import Field
from scim2_models import SCIMException

from contracts.seats import SeatUsage
from servicekit import faults
from services.gateway.admin.access import AdminBody, admin_router, require_tenant
from services.gateway.admin.drift import SeatDrift, seat_drift
from services.gateway.http.dependencies import EngineDep, OwnersDep
from services.gateway.http.errors import error_with_status
from services.gateway.owners import Owners

router = admin_router()


MAX_SEAT_LIMIT = 1_000_000
REPAIRS_AT_ONCE = 500  # publishes awaited together: a repair of a whole tenant takes seconds, not minutes


class SeatLimitIn(AdminBody):
    # Strict: JSON true is not a number of seats. Bounded: the seats service keeps it in a SQL integer.
    limit: int = Field(ge=0, le=MAX_SEAT_LIMIT, strict=True)


class SeatUsageOut(SeatUsage):
    """The seats service's answer (its fields and their meaning are the contract's), for one tenant."""

    tenant_id: str

    @classmethod
    def of(cls, tenant_id: str, usage: SeatUsage) -> SeatUsageOut:
        return cls(tenant_id=tenant_id, **usage.model_dump())


class ReconcileOut(SeatDrift):
    # Repairs are commands to the users service, one per drifted user, handled in that user's order
    # (docs/architecture.md §4): a reservation can still be denied if no seat is free. Run reconcile
    # again to see the outcome.
    repair_requested: bool = False


@contextmanager
def _owners_answer() -> Iterator[None]:
    """A refusal or an unexpected reply is the owner's failure here, not the admin's: 502."""
    try:
        yield
    except SCIMException as error:
        raise error_with_status(502, f"The seats service could not answer: {error.detail}") from error


@router.get("/tenants/{tenant_id}/seats")
async def get_seats(tenant_id: str, engine: EngineDep, owners: OwnersDep) -> SeatUsageOut:
    require_tenant(engine, tenant_id)
    with _owners_answer():
        usage = await owners.seats.usage(tenant_id)
    return SeatUsageOut.of(tenant_id, usage)


@router.put("/tenants/{tenant_id}/seats")
async def put_seats(tenant_id: str, engine: EngineDep, body: SeatLimitIn, owners: OwnersDep) -> SeatUsageOut:
    require_tenant(engine, tenant_id)
    with _owners_answer():
        usage = await owners.seats.set_limit(tenant_id, body.limit)
    return SeatUsageOut.of(tenant_id, usage)


@router.post("/tenants/{tenant_id}/seats/reconcile")
async def reconcile(
    tenant_id: str, engine: EngineDep, owners: OwnersDep, repair: bool = False
) -> ReconcileOut:
    """Compare seats held with active users, and the allowance as both services count it; with
    ``repair`` release stray seats, reserve missing ones and have the allowance counted again."""
    require_tenant(engine, tenant_id)
    with _owners_answer():
        holders = await owners.seats.holders(tenant_id)
        usage = await owners.seats.usage(tenant_id)
        active = await owners.users.active(tenant_id)
    drift = seat_drift(
        seat_holders=holders.user_ids,
        active_users=active.user_ids,
        in_flight=active.in_flight,
        set_aside=usage.set_aside,
        allowance_unspent=active.allowance_unspent,
    )
    if repair and not drift.clean:
        await asyncio.sleep(faults.delay_seconds("gateway.reconcile_repair"))  # tests widen the race
        await _repair(owners, tenant_id, drift)
    return ReconcileOut(**drift.model_dump(), repair_requested=repair and not drift.clean)


async def _repair(owners: Owners, tenant_id: str, drift: SeatDrift) -> None:
    """Not straight to the seats service: the drift was read a moment ago, and a user deactivated since
    must not get a seat back. The users service decides each from the user as they are then. An
    allowance out of step is recalled and counted again by the seats service (``count_return``)."""
    if not drift.allowance_in_step:
        await owners.seats.recall_allowance(tenant_id)
    drifted = [*drift.seats_without_active_user, *drift.active_users_without_seat]
    for start in range(0, len(drifted), REPAIRS_AT_ONCE):  # fire and forget: reconcile can be rerun
        batch = drifted[start : start + REPAIRS_AT_ONCE]
        await asyncio.gather(*(owners.users.reconcile_seat(tenant_id, user_id) for user_id in batch))
