"""Entries delivered to the activity service and pages read from it, through its real message and
query processors, as its consumers run them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from sqlalchemy import Engine
from sqlmodel import Session, select

from contracts import users
from contracts.activity import ActivityPage, ClientKind, ListActivity, RequestOutcome
from contracts.envelope import Envelope, Message, wrap
from contracts.registry import payload_of
from contracts.topics import ACTIVITY_QUERIES, USERS_EVENTS
from servicekit.answering import QueryProcessor
from servicekit.handling import MessageProcessor
from servicekit.messaging import OutboxEntry
from servicekit.records import RawRecord
from services.activity.handlers import (
    OUTCOME_HANDLERS,
    QUERY_HANDLERS,
    SEAT_EVENT_HANDLERS,
    TEAM_EVENT_HANDLERS,
    USER_EVENT_HANDLERS,
)

REPLIES = "test.replies"
_offsets = count()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def activity_processor(engine: Engine) -> MessageProcessor:
    handlers = {**OUTCOME_HANDLERS, **USER_EVENT_HANDLERS, **SEAT_EVENT_HANDLERS, **TEAM_EVENT_HANDLERS}
    return MessageProcessor(engine=engine, handlers=handlers, producer="activity", max_attempts=5)


def deliver(engine: Engine, envelope: Envelope, topic: str = USERS_EVENTS) -> None:
    record = RawRecord(topic, 0, next(_offsets), envelope.tenant.encode(), envelope.to_bytes())
    activity_processor(engine).process(record)


def at_minute(message: Message, minute: int, tenant: str = "acme", producer: str = "users") -> Envelope:
    envelope = wrap(message, tenant=tenant, producer=producer)
    return envelope.model_copy(update={"occurred_at": T0 + timedelta(minutes=minute)})


def ask(engine: Engine, query: ListActivity, tenant: str = "acme") -> Message:
    """A query as the service answers it: from a read transaction, the reply returned, nothing stored."""
    envelope = wrap(query, tenant=tenant, producer="test", reply_to=REPLIES)
    record = RawRecord(ACTIVITY_QUERIES, 0, next(_offsets), tenant.encode(), envelope.to_bytes())
    answerer = QueryProcessor(engine=engine, handlers=QUERY_HANDLERS, producer="activity", max_attempts=5)
    [reply] = answerer.process(record)
    with Session(engine) as session:
        assert not session.exec(select(OutboxEntry).where(OutboxEntry.topic == REPLIES)).all()
    return payload_of(reply.envelope)


def read_page(engine: Engine, tenant: str = "acme", **filters: object) -> ActivityPage:
    reply = ask(engine, ListActivity.model_validate(filters), tenant)
    assert isinstance(reply, ActivityPage), reply
    return reply


def refused_create(name: str) -> RequestOutcome:
    return RequestOutcome(
        client=ClientKind.OKTA,
        method="POST",
        resource_type="User",
        name=name,
        status=403,
        detail="Seat limit reached: 1 of 1 seats in use.",
        duration_ms=8.0,
    )


def user_created(user_id: str, name: str) -> users.UserCreated:
    profile = users.UserProfile(user_name=name)
    record = users.UserRecord(id=user_id, profile=profile, created=T0, last_modified=T0, version=1)
    return users.UserCreated(user=record)


def user_request(method: str, user_id: str, name: str | None, status: int) -> RequestOutcome:
    return RequestOutcome(
        client=ClientKind.OKTA,
        method=method,
        resource_type="User",
        resource_id=user_id,
        name=name,
        status=status,
        duration_ms=3.0,
    )
