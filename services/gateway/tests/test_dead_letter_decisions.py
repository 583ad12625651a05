"""Decisions on dead letters, on SQLite and PostgreSQL: one per dead letter, never passed on to the next
dead letter that holds the same id after its topic was recreated (offsets start again at 0)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from services.gateway.dead_letter_store import (
    AlreadyDecided,
    DeadLetterDecision,
    Decision,
    decisions,
    ensure_undecided,
    record_decision,
)

LETTER = "users.commands.v1.dlq:1:0"
FIRST = datetime(2026, 12, 4, 9, 27, 0, 123000, tzinfo=UTC)
AFTER_RECREATION = FIRST + timedelta(minutes=6)


@pytest.fixture
def engine(gateway_engine: Engine) -> Engine:
    return gateway_engine


def _decide(engine: Engine, at: datetime, decision: Decision) -> None:
    with Session(engine) as session, session.begin():
        record_decision(session, letter_id=LETTER, dead_lettered_at=at, decision=decision)


def _decided(engine: Engine, at: datetime) -> str | None:
    with Session(engine) as session:
        found = decisions(session, letters={LETTER: at}).get(LETTER)
        return None if found is None else found.decision


def test_a_decision_is_not_the_next_dead_letters_of_that_id(engine: Engine) -> None:
    _decide(engine, FIRST, Decision.DISCARDED)
    assert _decided(engine, FIRST) == "discarded"
    with Session(engine) as session, pytest.raises(AlreadyDecided):
        ensure_undecided(session, letter_id=LETTER, dead_lettered_at=FIRST)
    # The topic was recreated: the same id now names another dead letter, which waits for a decision.
    assert _decided(engine, AFTER_RECREATION) is None
    with Session(engine) as session:
        ensure_undecided(session, letter_id=LETTER, dead_lettered_at=AFTER_RECREATION)
    _decide(engine, AFTER_RECREATION, Decision.REPLAYED)
    assert (_decided(engine, AFTER_RECREATION), _decided(engine, FIRST)) == ("replayed", None)
    with pytest.raises(AlreadyDecided):
        _decide(engine, AFTER_RECREATION, Decision.DISCARDED)


def test_a_decision_kept_before_letters_had_times_applies_to_the_letters_before_it(engine: Engine) -> None:
    """Decided (at FIRST + 1 minute) before revision 0005 kept the time: it is the decision on a dead
    letter from before that moment, never on one dead-lettered after it."""
    with Session(engine) as session, session.begin():
        kept = DeadLetterDecision(
            dead_letter_id=LETTER, decision=Decision.DISCARDED, decided_at=FIRST + timedelta(minutes=1)
        )
        session.add(kept)
    assert _decided(engine, FIRST) == "discarded"
    with pytest.raises(AlreadyDecided):
        _decide(engine, FIRST, Decision.REPLAYED)
    assert _decided(engine, AFTER_RECREATION) is None
    _decide(engine, AFTER_RECREATION, Decision.REPLAYED)
    assert _decided(engine, AFTER_RECREATION) == "replayed"


def test_a_decision_on_the_newer_holder_of_an_id_is_never_replaced(engine: Engine) -> None:
    """One gateway read the old dead letter, the topic was recreated, another decided the new one:
    the first one's late decision on the old letter must not wipe it."""
    _decide(engine, AFTER_RECREATION, Decision.DISCARDED)
    with pytest.raises(AlreadyDecided, match="a newer one has that id"):
        _decide(engine, FIRST, Decision.REPLAYED)
    assert _decided(engine, AFTER_RECREATION) == "discarded"
