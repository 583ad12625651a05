"""A replayed dead letter names the service that set it aside: that service handles it again, every
other service on the topic (its own consumer group, which handled the original) acknowledges it unread."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from contracts.envelope import Envelope, wrap
from contracts.seats import ReserveSeat
from servicekit.handling import MessageProcessor
from servicekit.messaging import already_processed
from servicekit.records import REPLAY_FOR_HEADER, RawRecord


def _handled(engine: Engine, envelope: Envelope) -> bool:
    with Session(engine) as session:
        return already_processed(session, message_id=envelope.message_id)


def _processor(engine: Engine, service: str) -> MessageProcessor:
    def nothing_to_do(_session: Session, _envelope: Envelope, _payload: Any) -> list[Any]:
        return []

    return MessageProcessor(
        engine=engine, handlers={ReserveSeat: nothing_to_do}, producer=service, max_attempts=1
    )


@pytest.mark.parametrize(
    ("headers", "handled_by_seats"),
    [
        ((), True),  # no replay: every consumer handles it
        (((REPLAY_FOR_HEADER, "seats"),), True),
        (((REPLAY_FOR_HEADER, "teams"),), False),
    ],
)
def test_a_replay_is_handled_only_by_the_service_that_set_it_aside(
    engine: Engine, headers: tuple[tuple[str, str], ...], handled_by_seats: bool
) -> None:
    envelope = wrap(ReserveSeat(user_id="u1"), tenant="acme", producer="gateway")
    record = RawRecord("seats.commands.v1", 0, 3, b"acme", envelope.to_bytes(), headers)
    _processor(engine, "seats").process(record)
    assert _handled(engine, envelope) is handled_by_seats
