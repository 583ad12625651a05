"""Admin API for seats: usage, the limit, and reconciliation. Changes are commands to the owners."""

from __future__ import annotations

from typing import TypeVar

from fastapi import APIRouter
from pydantic import BaseModel, Field

from contracts.envelope import Message
from contracts.replies import CommandRejected
from contracts.seats import (
    GetSeatUsage,
    ListSeatHolders,
    ReleaseSeat,
    ReserveSeat,
    SeatHolders,
    SeatUsage,
    SetSeatLimit,
)
from contracts.topics import SEATS_COMMANDS, SEATS_QUERIES, USERS_QUERIES, tenant_key
from contracts.users import ListActiveUserIds, UserIds
from services.gateway.correlator import Requester
from services.gateway.dependencies import AdminAuth, RequesterDep, SessionDep, require_tenant
from services.gateway.errors import ScimProblem
from services.gateway.reconcile import SeatDrift, seat_drift

router = APIRouter(prefix="/admin/v1", dependencies=[AdminAuth])

Reply = TypeVar("Reply", bound=Message)


class SeatLimitIn(BaseModel):
    limit: int = Field(ge=0)


class SeatUsageOut(BaseModel):
    tenant_id: str
    used: int
    limit: int


class ReconcileOut(SeatDrift):
    # Repairs are commands to the seats service: a reservation can still be denied if no seat is
    # free. Run reconcile again to see the outcome.
    repair_requested: bool = False


async def _ask(
    requester: Requester, message: Message, tenant: str, topic: str, expected: type[Reply]
) -> Reply:
    reply = await requester.ask(message, tenant=tenant, topic=topic, key=tenant_key(tenant))
    if isinstance(reply, CommandRejected) or not isinstance(reply, expected):
        raise ScimProblem(502, f"The seats service could not answer: {reply}")
    return reply


async def seat_usage(requester: Requester, tenant_id: str) -> SeatUsageOut:
    usage = await _ask(requester, GetSeatUsage(), tenant_id, SEATS_QUERIES, SeatUsage)
    return SeatUsageOut(tenant_id=tenant_id, used=usage.used, limit=usage.limit)


async def set_seat_limit(requester: Requester, tenant_id: str, limit: int) -> SeatUsageOut:
    usage = await _ask(requester, SetSeatLimit(limit=limit), tenant_id, SEATS_COMMANDS, SeatUsage)
    return SeatUsageOut(tenant_id=tenant_id, used=usage.used, limit=usage.limit)


@router.get("/tenants/{tenant_id}/seats")
async def get_seats(tenant_id: str, session: SessionDep, requester: RequesterDep) -> SeatUsageOut:
    require_tenant(session, tenant_id)
    return await seat_usage(requester, tenant_id)


@router.put("/tenants/{tenant_id}/seats")
async def put_seats(
    tenant_id: str, body: SeatLimitIn, session: SessionDep, requester: RequesterDep
) -> SeatUsageOut:
    require_tenant(session, tenant_id)
    return await set_seat_limit(requester, tenant_id, body.limit)


@router.post("/tenants/{tenant_id}/seats/reconcile")
async def reconcile(
    tenant_id: str, session: SessionDep, requester: RequesterDep, repair: bool = False
) -> ReconcileOut:
    """Compare seats held with active users; with ``repair`` release stray seats and reserve missing ones."""
    require_tenant(session, tenant_id)
    holders = await _ask(requester, ListSeatHolders(), tenant_id, SEATS_QUERIES, SeatHolders)
    active = await _ask(requester, ListActiveUserIds(), tenant_id, USERS_QUERIES, UserIds)
    drift = seat_drift(
        seat_holders=holders.user_ids, active_users=active.user_ids, in_flight=active.in_flight
    )
    if repair and not drift.clean:
        await _repair(requester, tenant_id, drift)
    return ReconcileOut(**drift.model_dump(), repair_requested=repair and not drift.clean)


async def _repair(requester: Requester, tenant_id: str, drift: SeatDrift) -> None:
    commands: list[Message] = [ReleaseSeat(user_id=user) for user in drift.seats_without_active_user]
    commands += [ReserveSeat(user_id=user) for user in drift.active_users_without_seat]
    for command in commands:  # fire and forget: seats are idempotent, and reconcile can be rerun
        await requester.tell(command, tenant=tenant_id, topic=SEATS_COMMANDS, key=tenant_key(tenant_id))
