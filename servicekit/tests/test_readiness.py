"""Readiness checks on their own: a stuck relay, a consumer still joining and a check that hangs
each make ``/readyz`` answer 503 naming the check; all passing answer 200."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session

from servicekit import readiness
from servicekit.clock import utc_now
from servicekit.messaging import OutboxEntry


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    return sqlite_engine


def _ask(checks: dict[str, readiness.Check], path: str = "/readyz") -> httpx.Response:
    app = FastAPI()
    app.include_router(readiness.health_router(lambda _request: checks))

    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.get(path)

    return asyncio.run(get())


def _unpublished(engine: Engine, *, age_seconds: float) -> None:
    with Session(engine) as session, session.begin():
        created = utc_now() - timedelta(seconds=age_seconds)
        session.add(OutboxEntry(topic="t", key=None, value=b"v", headers={}, created_at=created))


def test_a_relay_behind_makes_the_service_unready(engine: Engine) -> None:
    relay = readiness.relay_check(engine, enabled=True, stuck_after_seconds=60)
    assert _ask({"relay": relay}).json()["checks"]["relay"] == {"ok": True, "detail": "outbox empty"}
    _unpublished(engine, age_seconds=5)
    assert _ask({"relay": relay}).status_code == 200
    _unpublished(engine, age_seconds=0)
    with Session(engine) as session, session.begin():  # the oldest is now 120 s old
        oldest = session.get(OutboxEntry, 1)
        assert oldest is not None
        oldest.created_at = utc_now() - timedelta(seconds=120)
    answer = _ask({"relay": relay, "database": readiness.database_check(engine)})
    assert answer.status_code == 503
    assert answer.json()["ready"] is False
    assert answer.json()["checks"]["relay"]["ok"] is False
    assert answer.json()["checks"]["relay"]["detail"].startswith("oldest unpublished message 12")
    assert answer.json()["checks"]["database"] == {"ok": True, "detail": "sqlite"}


def test_consumers_are_ready_once_every_group_holds_its_assignment() -> None:
    commands, events = readiness.GroupMembership("users.commands"), readiness.GroupMembership("users.events")
    check = readiness.consumers_check([commands, events])
    assert _ask({"consumers": check}).json()["checks"]["consumers"] == {
        "ok": False,
        "detail": "waiting: users.commands (joining), users.events (joining)",
    }
    asyncio.run(commands.on_partitions_assigned({1, 2}))
    asyncio.run(events.on_partitions_assigned(set()))  # beyond the partition count: a member all the same
    assert _ask({"consumers": check}).status_code == 200
    asyncio.run(commands.on_partitions_revoked({1, 2}))  # a rebalance: not ready until reassigned
    assert _ask({"consumers": check}).status_code == 503


def test_a_member_assigned_nothing_before_its_client_knew_the_topic_is_not_ready() -> None:
    known = False
    queries = readiness.GroupMembership("seats.queries", knows_partitions=lambda: known)
    check = readiness.consumers_check([queries])
    asyncio.run(queries.on_partitions_assigned(set()))
    assert _ask({"consumers": check}).json()["checks"]["consumers"] == {
        "ok": False,
        "detail": "waiting: seats.queries (no partition metadata yet)",
    }
    known = True  # the next metadata refresh: a surplus member now, or a rebalance follows
    assert _ask({"consumers": check}).status_code == 200


def test_a_hung_check_fails_within_the_timeout_and_liveness_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readiness, "CHECK_TIMEOUT_SECONDS", 0.2)

    async def hangs() -> readiness.Outcome:
        await asyncio.sleep(30)
        raise AssertionError("never reached")

    answer = _ask({"kafka": hangs})
    assert answer.status_code == 503
    assert answer.json()["checks"]["kafka"] == {"ok": False, "detail": "no answer within 0.2 s"}
    assert _ask({"kafka": hangs}, "/livez").json() == {"live": True}
