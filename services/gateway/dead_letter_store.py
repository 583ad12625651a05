"""What operators decided about dead letters: the gateway's durable record of replays and discards.

The dead letters themselves stay on Kafka (``dead_letters``); only the decision is the gateway's, one
row per dead letter, so a dead letter is replayed or discarded once whichever gateway instance is asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from servicekit.clock import utc_now


class Decision(StrEnum):
    REPLAYED = "replayed"
    DISCARDED = "discarded"


class DeadLetterDecision(SQLModel, table=True):
    __tablename__ = "dead_letter_decisions"

    dead_letter_id: str = Field(primary_key=True)  # <dlq topic>:<partition>:<offset>
    decision: str
    decided_at: datetime = Field(default_factory=utc_now)
    replay_message_id: UUID | None = None


DEAD_LETTER_TABLES: tuple[type[SQLModel], ...] = (DeadLetterDecision,)


class AlreadyDecided(ValueError):
    pass


def decisions(session: Session, *, letter_ids: Iterable[str]) -> dict[str, DeadLetterDecision]:
    wanted = list(letter_ids)
    found: dict[str, DeadLetterDecision] = {}
    for start in range(0, len(wanted), 500):  # bounded IN lists
        query = select(DeadLetterDecision).where(
            col(DeadLetterDecision.dead_letter_id).in_(wanted[start : start + 500])
        )
        found.update((row.dead_letter_id, row) for row in session.exec(query))
    return found


def ensure_undecided(session: Session, *, letter_id: str) -> None:
    earlier = session.get(DeadLetterDecision, letter_id)
    if earlier is not None:
        raise AlreadyDecided(
            f"dead letter {letter_id} was {earlier.decision} at {earlier.decided_at:%Y-%m-%d %H:%M:%S}"
        )


def record_decision(
    session: Session, *, letter_id: str, decision: Decision, replay_message_id: UUID | None = None
) -> DeadLetterDecision:
    ensure_undecided(session, letter_id=letter_id)
    row = DeadLetterDecision(dead_letter_id=letter_id, decision=decision, replay_message_id=replay_message_id)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # another gateway instance decided it just now
        raise AlreadyDecided(f"dead letter {letter_id} was decided by another request") from None
    return row
