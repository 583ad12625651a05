"""The envelope every Roster message travels in (architecture.md §2).

Tolerant reader: unknown envelope fields are ignored, so a producer on a newer minor
version never breaks an older consumer. A breaking change bumps ``schema_version``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field


class Message(BaseModel):
    """Base of every command, query, reply and event payload."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: ClassVar[int] = 1

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__


class Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    message_id: UUID
    type: str
    schema_version: int
    correlation_id: UUID
    causation_id: UUID | None = None
    tenant: str
    occurred_at: datetime
    producer: str
    reply_to: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)


def wrap(
    message: Message,
    *,
    tenant: str,
    producer: str,
    correlation_id: UUID | None = None,
    causation_id: UUID | None = None,
    reply_to: str | None = None,
) -> Envelope:
    """Put a payload in a fresh envelope; a new correlation id starts a new conversation."""
    return Envelope(
        message_id=uuid4(),
        type=message.type_name(),
        schema_version=message.schema_version,
        correlation_id=correlation_id or uuid4(),
        causation_id=causation_id,
        tenant=tenant,
        occurred_at=datetime.now(UTC),
        producer=producer,
        reply_to=reply_to,
        payload=message.model_dump(mode="json"),
    )


def wrap_descendant(message: Message, *, cause: Envelope, producer: str) -> Envelope:
    """An envelope caused by ``cause``: same tenant and correlation, causation = its id."""
    return wrap(
        message,
        tenant=cause.tenant,
        producer=producer,
        correlation_id=cause.correlation_id,
        causation_id=cause.message_id,
    )
