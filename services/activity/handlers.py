"""Activity handlers: every event and request outcome is recorded once; queries read a page."""

from __future__ import annotations

from sqlmodel import Session

from contracts import channels
from contracts.activity import ActivityPage, ListActivity, RequestOutcome
from contracts.envelope import Envelope, Message
from servicekit.records import HandlerMap, Outgoing, reply_to
from services.activity import domain, store

PRODUCER = "activity"


def record_outcome(session: Session, envelope: Envelope, outcome: RequestOutcome) -> list[Outgoing]:
    store.record(session, entry=domain.from_request(envelope, outcome))
    return []


def record_event(session: Session, envelope: Envelope, event: Message) -> list[Outgoing]:
    store.record(session, entry=domain.from_event(envelope, event))
    return []


def list_activity(session: Session, envelope: Envelope, query: ListActivity) -> list[Outgoing]:
    entries, more = store.page(session, tenant=envelope.tenant, query=query)
    last = entries[-1] if entries and more else None
    following = None if last is None else domain.cursor(last.occurred_at, last.entry_id)
    return reply_to(envelope, ActivityPage(entries=tuple(entries), next_cursor=following), producer=PRODUCER)


OUTCOME_HANDLERS: HandlerMap = {RequestOutcome: record_outcome}
USER_EVENT_HANDLERS: HandlerMap = dict.fromkeys(channels.USERS_EVENTS.messages, record_event)
TEAM_EVENT_HANDLERS: HandlerMap = dict.fromkeys(channels.TEAMS_EVENTS.messages, record_event)
SEAT_EVENT_HANDLERS: HandlerMap = dict.fromkeys(channels.SEATS_EVENTS.messages, record_event)
QUERY_HANDLERS: HandlerMap = {ListActivity: list_activity}
