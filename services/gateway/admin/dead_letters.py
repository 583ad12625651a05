"""Admin API for dead letters: list (filtered), show one, replay it, discard it.

What is shown of a message is its envelope's routing facts (type, tenant, ids), the error and the
headers; never its payload, which may hold personal data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from aiokafka.errors import KafkaError
from fastapi import Depends, Query, Request
from pydantic import BaseModel
from scim2_models import InvalidValueException, NotFoundException
from sqlalchemy import Engine

from contracts.flows import DEAD_LETTER_SOURCES, DEAD_LETTERING_SERVICES
from services.gateway.admin.access import admin_router, require_tenant
from services.gateway.dead_letter_desk import (
    DeadLetterDesk,
    DeadLetterNotFound,
    LetterFilter,
    LetterState,
    NotReplayable,
    ResolvedLetter,
)
from services.gateway.dead_letter_store import AlreadyDecided
from services.gateway.dead_letters import DLQ_SUFFIX, DeadLettersUnreadable
from services.gateway.http.dependencies import EngineDep
from services.gateway.http.errors import error_with_status

router = admin_router()


class EnvelopeOut(BaseModel):
    message_id: UUID
    type: str
    tenant: str
    correlation_id: UUID
    causation_id: UUID | None
    producer: str
    occurred_at: datetime


class DeadLetterOut(BaseModel):
    id: str
    topic: str
    dlq_topic: str
    partition: int
    offset: int
    service: str | None
    error: str
    dead_lettered_at: datetime
    state: LetterState
    decided_at: datetime | None
    replay_message_id: UUID | None
    envelope: EnvelopeOut | None
    headers: dict[str, str]

    @classmethod
    def of(cls, resolved: ResolvedLetter) -> DeadLetterOut:
        letter, decision = resolved.letter, resolved.decision
        envelope = letter.envelope
        return cls(
            id=letter.id,
            topic=letter.original_topic,
            dlq_topic=letter.dlq_topic,
            partition=letter.partition,
            offset=letter.offset,
            service=letter.service,
            error=letter.error,
            dead_lettered_at=letter.dead_lettered_at,
            state=resolved.state,
            decided_at=decision.decided_at if decision else None,
            replay_message_id=decision.replay_message_id if decision else None,
            envelope=EnvelopeOut.model_validate(envelope.model_dump()) if envelope else None,
            headers=letter.headers,
        )


class DeadLetterList(BaseModel):
    dead_letters: list[DeadLetterOut]
    total_results: int


class StateFilter(StrEnum):
    UNRESOLVED = "unresolved"
    REPLAYED = "replayed"
    DISCARDED = "discarded"
    ALL = "all"


def _desk(request: Request) -> DeadLetterDesk:
    desk: DeadLetterDesk = request.app.state.dead_letters
    return desk


DeskDep = Annotated[DeadLetterDesk, Depends(_desk)]


@contextmanager
def _desk_answers() -> Iterator[None]:
    try:
        yield
    except DeadLetterNotFound as error:
        raise NotFoundException(detail=str(error)) from None
    except (AlreadyDecided, NotReplayable) as error:
        raise error_with_status(409, str(error)) from None
    except (DeadLettersUnreadable, KafkaError) as error:
        raise error_with_status(503, f"Kafka did not hand over the dead letters: {error}") from None


@router.get("/dead-letters")
async def list_dead_letters(
    desk: DeskDep,
    engine: EngineDep,
    topic: Annotated[str | None, Query(max_length=249)] = None,
    service: Annotated[str | None, Query(max_length=64)] = None,
    tenant: Annotated[str | None, Query(max_length=64)] = None,
    state: StateFilter = StateFilter.UNRESOLVED,
) -> DeadLetterList:
    """Dead letters still on Kafka, oldest first per topic; by default those nobody has decided on. A
    filter naming nothing that can hold one is refused (an empty list would read as "all is well")."""
    _refuse_filters_naming_nothing(engine, topic=topic, service=service, tenant=tenant)
    wanted = LetterFilter(
        topic=topic,
        service=service,
        tenant=tenant,
        state=None if state == StateFilter.ALL else LetterState(state.value),
    )
    with _desk_answers():
        letters = await desk.letters(wanted)
    return DeadLetterList(dead_letters=[DeadLetterOut.of(r) for r in letters], total_results=len(letters))


def _refuse_filters_naming_nothing(
    engine: Engine, *, topic: str | None, service: str | None, tenant: str | None
) -> None:
    if topic is not None and topic.removesuffix(DLQ_SUFFIX) not in DEAD_LETTER_SOURCES:
        raise InvalidValueException(
            detail=f"topic {topic!r} is no topic Roster consumes: one of {', '.join(DEAD_LETTER_SOURCES)}"
            " (or its .dlq)."
        )
    if service is not None and service not in DEAD_LETTERING_SERVICES:
        raise InvalidValueException(
            detail=f"service {service!r} is none of Roster's: {', '.join(DEAD_LETTERING_SERVICES)}."
        )
    if tenant is not None:
        require_tenant(engine, tenant)


@router.get("/dead-letters/{letter_id}")
async def show_dead_letter(letter_id: str, desk: DeskDep) -> DeadLetterOut:
    with _desk_answers():
        return DeadLetterOut.of(await desk.find(letter_id))


@router.post("/dead-letters/{letter_id}/replay")
async def replay_dead_letter(letter_id: str, desk: DeskDep) -> DeadLetterOut:
    """Publish the message again to its topic under a new message id (same correlation id); once."""
    with _desk_answers():
        return DeadLetterOut.of(await desk.replay(letter_id))


@router.post("/dead-letters/{letter_id}/discard")
async def discard_dead_letter(letter_id: str, desk: DeskDep) -> DeadLetterOut:
    """Set it aside for good: hidden from the default list, never replayed."""
    with _desk_answers():
        return DeadLetterOut.of(await desk.discard(letter_id))
