"""The envelope every Roster message travels in (docs/architecture.md §2).

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
    """The value of every Kafka record Roster sends: who, when, why, and the payload of ``type``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    message_id: UUID = Field(
        description="Unique per message; a redelivered or re-published copy keeps it (the idempotency key)."
    )
    type: str = Field(description="The payload's message type, e.g. UserCreated.")
    schema_version: int = Field(description="The payload type's major version; a breaking change bumps it.")
    correlation_id: UUID = Field(
        description="One per conversation (a SCIM request): copied to every message it causes."
    )
    causation_id: UUID | None = Field(
        default=None, description="The message_id of the message that caused this."
    )
    tenant: str = Field(description="The Roster tenant (customer) the message is about.")
    occurred_at: datetime = Field(description="When the message was made (UTC).")
    producer: str = Field(description="The Roster process that made it: gateway, users, teams or seats.")
    reply_to: str | None = Field(default=None, description="The topic the requester waits on, if any.")
    payload: dict[str, Any] = Field(default_factory=dict, description="The message itself, as its type says.")

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
