"""What operators decided about dead letters: the gateway's durable record of replays and discards.

The dead letters themselves stay on Kafka (``dead_letters``); only the decision is the gateway's, one
row per dead letter, so a dead letter is replayed or discarded once whichever gateway instance is asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import DateTime
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from servicekit.clock import as_utc, utc_now


class Decision(StrEnum):
    REPLAYED = "replayed"
    DISCARDED = "discarded"


class DeadLetterDecision(SQLModel, table=True):
    __tablename__ = "dead_letter_decisions"

    dead_letter_id: str = Field(primary_key=True)  # <dlq topic>:<partition>:<offset>
    decision: str
    decided_at: datetime = Field(default_factory=utc_now)
    replay_message_id: UUID | None = None
    # The dead letter's own time (its Kafka timestamp): an id comes back when a topic is recreated.
    dead_lettered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))

    def applies_to(self, dead_lettered_at: datetime) -> bool:
        """Whether this is the decision on the dead letter of that time, not on one that held the same
        id before its topic was recreated. A decision kept without the time (before revision 0005)
        applies unless it was taken before that dead letter existed."""
        if self.dead_lettered_at is None:
            return as_utc(self.decided_at) >= as_utc(dead_lettered_at)
        return as_utc(self.dead_lettered_at) == as_utc(dead_lettered_at)

    def is_older_than(self, dead_lettered_at: datetime) -> bool:
        """A decision on an earlier holder of the id (a later one's is never replaced)."""
        taken_on = self.dead_lettered_at or self.decided_at
        return as_utc(taken_on) < as_utc(dead_lettered_at)


DEAD_LETTER_TABLES: tuple[type[SQLModel], ...] = (DeadLetterDecision,)


class AlreadyDecided(ValueError):
    pass


def decisions(session: Session, *, letters: Mapping[str, datetime]) -> dict[str, DeadLetterDecision]:
    """The decisions on these dead letters (id → its time), those on an earlier holder of an id left out."""
    wanted = list(letters)
    found: dict[str, DeadLetterDecision] = {}
    for start in range(0, len(wanted), 500):  # bounded IN lists
        query = select(DeadLetterDecision).where(
            col(DeadLetterDecision.dead_letter_id).in_(wanted[start : start + 500])
        )
        found.update(
            (row.dead_letter_id, row)
            for row in session.exec(query)
            if row.applies_to(letters[row.dead_letter_id])
        )
    return found


def ensure_undecided(session: Session, *, letter_id: str, dead_lettered_at: datetime) -> None:
    earlier = session.get(DeadLetterDecision, letter_id)
    if earlier is not None and earlier.applies_to(dead_lettered_at):
        raise AlreadyDecided(
            f"dead letter {letter_id} was {earlier.decision} at {earlier.decided_at:%Y-%m-%d %H:%M:%S}"
        )


def record_decision(
    session: Session,
    *,
    letter_id: str,
    dead_lettered_at: datetime,
    decision: Decision,
    replay_message_id: UUID | None = None,
) -> DeadLetterDecision:
    ensure_undecided(session, letter_id=letter_id, dead_lettered_at=dead_lettered_at)
    other = session.get(DeadLetterDecision, letter_id)  # on another holder of the id
    if other is not None and not other.is_older_than(dead_lettered_at):
        raise AlreadyDecided(
            f"dead letter {letter_id} is gone: its topic was recreated and a newer one has that id"
        )
    if other is not None:
        session.delete(other)
        session.flush()
    row = DeadLetterDecision(
        dead_letter_id=letter_id,
        decision=decision,
        replay_message_id=replay_message_id,
        dead_lettered_at=dead_lettered_at,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # another gateway instance decided it just now
        raise AlreadyDecided(f"dead letter {letter_id} was decided by another request") from None
    return row
