"""The operator's dead-letter desk: dead letters read from Kafka joined with the decisions taken on them,
and the two decisions — replay (the original message again, re-wrapped) and discard (set aside for good)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from faststream.kafka import KafkaBroker
from sqlalchemy import Engine
from sqlmodel import Session

from servicekit.clock import utc_now
from servicekit.db import read_session
from servicekit.records import REPLAY_FOR_HEADER
from services.gateway.dead_letter_store import (
    DeadLetterDecision,
    Decision,
    decisions,
    ensure_undecided,
    record_decision,
)
from services.gateway.dead_letters import DeadLetter, DeadLetterReader, is_letter_id, replay_envelope


class LetterState(StrEnum):
    UNRESOLVED = "unresolved"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


class DeadLetterNotFound(LookupError):
    pass


class NotReplayable(ValueError):
    """Its value is no Roster message (undecodable bytes, or a record too large that was never kept)."""


@dataclass(frozen=True)
class LetterFilter:
    topic: str | None = None  # the original topic, or its .dlq
    service: str | None = None
    tenant: str | None = None
    state: LetterState | None = LetterState.UNRESOLVED  # None: every state

    def admits(self, resolved: ResolvedLetter) -> bool:
        letter = resolved.letter
        tenant = letter.envelope.tenant if letter.envelope else None
        return (
            (self.topic is None or self.topic in (letter.original_topic, letter.dlq_topic))
            and (self.service is None or self.service == letter.service)
            and (self.tenant is None or self.tenant == tenant)
            and (self.state is None or self.state == resolved.state)
        )


@dataclass(frozen=True)
class ResolvedLetter:
    letter: DeadLetter
    decision: DeadLetterDecision | None

    @property
    def state(self) -> LetterState:
        return LetterState(self.decision.decision) if self.decision else LetterState.UNRESOLVED


class DeadLetterDesk:
    def __init__(self, *, reader: DeadLetterReader, engine: Engine, broker: KafkaBroker) -> None:
        self._reader = reader
        self._engine = engine
        self._broker = broker

    async def letters(self, wanted: LetterFilter) -> list[ResolvedLetter]:
        return [resolved for resolved in await self._resolved() if wanted.admits(resolved)]

    async def unresolved_by_topic(self) -> dict[str, int]:
        """Every topic with dead letters, unresolved or not (0), by its original topic."""
        resolved = await self._resolved()
        counts = Counter(r.letter.original_topic for r in resolved if r.state == LetterState.UNRESOLVED)
        return {r.letter.original_topic: counts[r.letter.original_topic] for r in resolved}

    async def find(self, letter_id: str) -> ResolvedLetter:
        for letter in await self._reader.letters():
            if letter.id == letter_id:
                with read_session(self._engine) as session:
                    decided = decisions(session, letters={letter_id: letter.dead_lettered_at})
                return ResolvedLetter(letter, decided.get(letter_id))
        # A well-formed id is only not there (a letter past the topic's retention is gone): no hint.
        hint = "" if is_letter_id(letter_id) else " (ids look like users.commands.v1.dlq:0:17)"
        raise DeadLetterNotFound(f"no dead letter {letter_id!r}{hint}")

    async def replay(self, letter_id: str) -> ResolvedLetter:
        """Publishes first, then records: a replay interrupted in between is asked again and sends the
        same message id, which the services' inboxes recognise."""
        letter = (await self.find(letter_id)).letter
        with read_session(self._engine) as session:
            ensure_undecided(session, letter_id=letter_id, dead_lettered_at=letter.dead_lettered_at)
        if letter.envelope is None:
            raise NotReplayable(
                f"dead letter {letter_id} holds no Roster message ({letter.error}); discard it"
            )
        envelope = replay_envelope(letter, letter.envelope, now=utc_now())
        headers = {**letter.headers, "content-type": "application/json", "message-type": envelope.type}
        if letter.service is not None:
            headers[REPLAY_FOR_HEADER] = letter.service  # only the service that failed it again
        await self._broker.publish(
            envelope.to_bytes(), letter.original_topic, key=letter.key, headers=headers
        )
        return await self._decide(letter, Decision.REPLAYED, envelope.message_id)

    async def discard(self, letter_id: str) -> ResolvedLetter:
        return await self._decide((await self.find(letter_id)).letter, Decision.DISCARDED)

    async def _decide(
        self, letter: DeadLetter, decision: Decision, replay_id: UUID | None = None
    ) -> ResolvedLetter:
        # A write transaction may wait for SQLite's write lock: never on the event loop.
        return await asyncio.to_thread(self._record, letter, decision, replay_id)

    def _record(self, letter: DeadLetter, decision: Decision, replay_id: UUID | None) -> ResolvedLetter:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            row = record_decision(
                session,
                letter_id=letter.id,
                dead_lettered_at=letter.dead_lettered_at,
                decision=decision,
                replay_message_id=replay_id,
            )
        return ResolvedLetter(letter, row)

    async def _resolved(self) -> list[ResolvedLetter]:
        letters = await self._reader.letters()
        with read_session(self._engine) as session:
            decided = decisions(session, letters={letter.id: letter.dead_lettered_at for letter in letters})
        return [ResolvedLetter(letter, decided.get(letter.id)) for letter in letters]
