"""What a handler receives and returns: the consumed record (``RawRecord``, ``Decoded`` once read),
the messages it wants sent (``Outgoing``, through the outbox; ``reply_to`` and ``deferred_reply`` build
replies), the record no service can handle (``PoisonMessage``) and the headers of dead letters and
their replays. ``servicekit.handling`` runs handlers with these."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlmodel import Session

from contracts.envelope import Envelope, Message, wrap, wrap_descendant


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: bytes | None
    envelope: Envelope


Handler = Callable[[Session, Envelope, Any], list[Outgoing]]
HandlerMap = Mapping[type[Message], Handler]
NeedlessCheck = Callable[[Session, Envelope, Any], bool]
"""True when handling the message would change nothing and send nothing, now and at any later
delivery: it is then acknowledged after this read, without a write transaction or an inbox row."""
Decoded = tuple[Envelope, Message, Handler]


@dataclass(frozen=True)
class RawRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, str], ...] = ()  # the record's own, kept on its dead letter


def error_text(error: Exception) -> str:
    """Why a record was set aside, for its ``x-error`` header and the log line, without the values it
    held: pydantic quotes the input it refused (a userName, an e-mail address, the record's bytes), and
    the README promises a dead letter's error holds no personal data. At most 2,000 characters."""
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'value'}: {item['msg']}"
            for item in error.errors()
        )
        return f"ValidationError({error.title}: {problems})"[:2000]
    return repr(error)[:2000]


DEAD_LETTER_HEADERS = ("x-error", "x-dead-lettered-by", "x-original-topic", "x-original-partition",
                       "x-original-offset")  # fmt: skip
"""What a dead letter's headers add to the original record's (``roster-admin dlq show``)."""
REPLAY_FOR_HEADER = "x-replay-for"
"""On a replayed dead letter: the service that set it aside. An events topic has one consumer group
per service, and the others handled the original already; with a new message id their inboxes would
not recognise the replay, so they acknowledge it unread (docs/operations.md, dead letters)."""


class PoisonMessage(Exception):
    """Not a message this service can ever handle; retrying cannot help.

    ``envelope`` is set when the envelope itself was readable, so the sender can still be answered.
    """

    def __init__(self, detail: str, envelope: Envelope | None = None) -> None:
        super().__init__(detail)
        self.envelope = envelope


def reply_to(cause: Envelope, message: Message, *, producer: str) -> list[Outgoing]:
    """The reply for whoever waits on ``cause`` (nobody, if it has no reply-to)."""
    if not cause.reply_to:
        return []
    envelope = wrap_descendant(message, cause=cause, producer=producer)
    return [Outgoing(topic=cause.reply_to, key=str(cause.correlation_id).encode(), envelope=envelope)]


def log_fields(envelope: Envelope) -> dict[str, object]:
    return {
        "tenant": envelope.tenant,
        "correlation_id": envelope.correlation_id,
        "message_id": envelope.message_id,
        "message_type": envelope.type,
    }


def deferred_reply(
    *,
    reply_topic: str | None,
    tenant: str,
    correlation_id: UUID,
    cause: Envelope | None,
    message: Message,
    producer: str,
) -> list[Outgoing]:
    """The reply to a request answered later, from another message (a saga step) or from no message at
    all (``cause`` None: a timer gave up): it keeps the request's correlation id, so the waiting
    requester recognises it."""
    if not reply_topic:
        return []
    envelope = wrap(
        message,
        tenant=tenant,
        producer=producer,
        correlation_id=correlation_id,
        causation_id=cause.message_id if cause is not None else None,
    )
    return [Outgoing(topic=reply_topic, key=str(correlation_id).encode(), envelope=envelope)]
