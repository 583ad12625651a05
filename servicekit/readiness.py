"""Liveness and readiness, shared by the services and the gateway: ``/livez`` and ``/readyz``.

Live means the process's event loop answers (a blocked loop never does). Each readiness check
answers ``(ok, detail)``; ``/readyz`` is 200 when all pass and 503 otherwise, with every check.

Ready means a request sent now is served without a start-up delay: the database answers, Kafka
answers, this instance's consumers have joined their groups and hold their partitions (a consumer
still joining leaves its messages waiting for seconds), and the outbox relay is not stuck.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiokafka import ConsumerRebalanceListener
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from sqlalchemy import Engine, text
from sqlmodel import col, select

from servicekit.clock import as_utc, utc_now
from servicekit.db import read_session
from servicekit.messaging import OutboxEntry

CHECK_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Outcome:
    ok: bool
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail}


Check = Callable[[], Awaitable[Outcome]]


async def run_checks(checks: Mapping[str, Check]) -> tuple[bool, dict[str, dict[str, Any]]]:
    """Every check at once, each bounded by ``CHECK_TIMEOUT_SECONDS``: a hung dependency is a
    failed check, never a hung probe."""

    async def bounded(check: Check) -> Outcome:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                return await check()
        except TimeoutError:
            return Outcome(False, f"no answer within {CHECK_TIMEOUT_SECONDS:g} s")
        except Exception as error:
            return Outcome(False, repr(error)[:500])

    outcomes = await asyncio.gather(*(bounded(check) for check in checks.values()))
    results = {name: outcome.as_json() for name, outcome in zip(checks, outcomes, strict=True)}
    return all(outcome.ok for outcome in outcomes), results


def database_check(engine: Engine) -> Check:
    def ping() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            connection.commit()  # not the ROLLBACK of closing: see ``read_session``

    async def check() -> Outcome:
        await asyncio.to_thread(ping)
        return Outcome(True, engine.dialect.name)

    return check


def kafka_check(broker: KafkaBroker) -> Check:
    """The brokers answer a metadata request through this process's own (started) clients."""

    async def check() -> Outcome:
        answered = await broker.ping(timeout=CHECK_TIMEOUT_SECONDS - 1)
        return Outcome(answered, "brokers answer" if answered else "no broker answers")

    return check


def relay_check(engine: Engine, *, enabled: bool, stuck_after_seconds: float) -> Check:
    """The oldest unpublished outbox row is younger than ``stuck_after_seconds``: the relay keeps up."""

    def oldest_age() -> float | None:
        with read_session(engine) as session:
            query = select(OutboxEntry.created_at).where(col(OutboxEntry.published_at).is_(None))
            oldest = session.exec(query.order_by(col(OutboxEntry.id)).limit(1)).first()
        return None if oldest is None else (utc_now() - as_utc(oldest)) / timedelta(seconds=1)

    async def check() -> Outcome:
        if not enabled:
            return Outcome(True, "relay disabled (OUTBOX_RELAY_ENABLED=false): messages are held")
        age = await asyncio.to_thread(oldest_age)
        if age is None:
            return Outcome(True, "outbox empty")
        return Outcome(age < stuck_after_seconds, f"oldest unpublished message {age:.1f} s old")

    return check


class GroupMembership(ConsumerRebalanceListener):  # type: ignore[misc]
    """Whether one consumer holds its group assignment: false until it first joins, and again from
    the moment a rebalance revokes its partitions until the new assignment arrives. An instance
    beyond the partition count holds none and is still a ready member — but only once its client
    knows the topic's partitions: a leader that assigned while its metadata lacked the topic (a broker
    answering before the topic's creation reached it) hands out nothing, and the member holds nothing
    until its next metadata refresh (``METADATA_MAX_AGE_MS``) makes the group rebalance."""

    def __init__(self, group: str, *, knows_partitions: Callable[[], bool] = lambda: True) -> None:
        self.group = group
        self.joined = False
        self.partitions = 0
        self.knows_partitions = knows_partitions  # bound to the consumer once it exists

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.joined = False

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self.partitions = len(assigned)
        self.joined = True

    @property
    def waiting_for(self) -> str | None:
        """What this member still waits for; None when it holds its assignment."""
        if not self.joined:
            return "joining"
        if self.partitions == 0 and not self.knows_partitions():
            return "no partition metadata yet"
        return None


def knows_partitions(subscriber: Any, topic: str) -> bool:
    """Whether a FastStream subscriber's consumer (none before it starts) has ``topic``'s partitions."""
    consumer = subscriber.consumer
    return consumer is not None and bool(consumer.partitions_for_topic(topic))


def consumers_check(memberships: list[GroupMembership]) -> Check:
    async def check() -> Outcome:
        waiting = [f"{m.group} ({m.waiting_for})" for m in memberships if m.waiting_for is not None]
        if waiting:
            return Outcome(False, f"waiting: {', '.join(waiting)}")
        held = sum(membership.partitions for membership in memberships)
        return Outcome(True, f"{len(memberships)} groups joined, {held} partitions held")

    return check


def assigned_check(consumer_assignment: Callable[[], int]) -> Check:
    """A consumer without a group (the gateway's replies): ready once it holds its partitions."""

    async def check() -> Outcome:
        held = consumer_assignment()
        return Outcome(held > 0, f"{held} partitions held" if held else "no partition assigned yet")

    return check


ChecksOf = Callable[[Request], Mapping[str, Check]]


def health_router(checks_of: ChecksOf, *, liveness_paths: Sequence[str] = ("/livez",)) -> APIRouter:
    """``/livez`` and ``/readyz`` for a FastAPI app; ``checks_of`` finds the checks at request time
    (they exist once the app has started)."""
    router = APIRouter(include_in_schema=False)

    async def livez() -> dict[str, Any]:
        return {"live": True}

    for path in liveness_paths:
        router.add_api_route(path, livez, methods=["GET"])

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        ready, checks = await run_checks(checks_of(request))
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    return router
