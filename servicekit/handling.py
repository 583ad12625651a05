"""How a service handles one message: inbox check, handler, outbox, all in one transaction.

A handler is ``load → ask the domain → save`` and returns the messages it wants sent; it never
publishes. Rejections raised by domain rules become ``CommandRejected`` replies. A message that
keeps failing is dead-lettered after ``max_attempts`` so the partition moves on — or, when its type
has a *compensation*, undone by it instead (a saga step that cannot finish, docs/architecture.md §3).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session

from contracts.envelope import Envelope, Message
from contracts.registry import UnknownMessageType, payload_of
from contracts.rejections import Rejection, RejectionReason
from contracts.replies import CommandRejected
from contracts.topics import dead_letter_topic
from servicekit import tracing
from servicekit.db import read_session
from servicekit.logs import log_context
from servicekit.messaging import (
    already_processed,
    enqueue,
    enqueue_envelopes,
    record_first_time,
    record_processed,
)
from servicekit.records import (
    REPLAY_FOR_HEADER,
    Decoded,
    Handler,
    HandlerMap,
    NeedlessCheck,
    Outgoing,
    PoisonMessage,
    RawRecord,
    error_text,
    log_fields,
    reply_to,
)

log = logging.getLogger(__name__)


def _back_off(attempts: int) -> None:
    time.sleep(min(0.05 * 2**attempts, 2.0))


class _Attempts:
    """Failed attempts per record; kept in memory, so a restart grants a fresh set of tries."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int, int], int] = {}

    def fail(self, record: RawRecord) -> int:
        with self._lock:
            position = (record.topic, record.partition, record.offset)
            self._counts[position] = self._counts.get(position, 0) + 1
            return self._counts[position]

    def count(self, record: RawRecord) -> int:
        with self._lock:
            return self._counts.get((record.topic, record.partition, record.offset), 0)

    def forget(self, record: RawRecord) -> None:
        with self._lock:
            self._counts.pop((record.topic, record.partition, record.offset), None)


def _reason(error: Exception) -> str:
    return error_text(error) if isinstance(error, ValidationError) else str(error)


class MessageProcessor:
    def __init__(
        self,
        *,
        engine: Engine,
        handlers: HandlerMap,
        producer: str,
        max_attempts: int,
        on_committed: Callable[[], None] = lambda: None,
        skip_unhandled: bool = False,
        on_dead_lettered: Callable[[str], None] = lambda topic: None,
        compensations: HandlerMap | None = None,
        on_compensated: Callable[[str], None] = lambda topic: None,
        needless: Mapping[type[Message], NeedlessCheck] | None = None,
    ) -> None:
        """``skip_unhandled``: for another service's events — those it does not care about (or,
        tolerant reader, a type newer than its contracts) are acknowledged, not dead-lettered.

        ``compensations``: for a message that failed ``max_attempts`` times, a handler that undoes
        what it began, run in a transaction of its own that settles the message (the inbox records it,
        its messages go out through the outbox). Only if that fails too is the message dead-lettered.

        ``needless``: by message type, a ``NeedlessCheck`` run in a read transaction first."""
        self._engine = engine
        self._handlers = handlers
        self._producer = producer
        self._max_attempts = max_attempts
        self._on_committed = on_committed
        self._attempts = _Attempts()
        self._skip_unhandled = skip_unhandled
        self._on_dead_lettered = on_dead_lettered  # told the original topic, for the metrics
        self._handled_types = {message_type.type_name() for message_type in handlers}
        self._compensations = compensations or {}
        self._on_compensated = on_compensated
        self._needless = needless or {}

    def process(self, record: RawRecord) -> list[Outgoing]:
        """Handle one record; raises while it should be redelivered, returns once it is settled.

        Returns what the caller must publish before it commits the record's offset: nothing for a
        command (its messages are in the outbox), the reply for a query (``QueryProcessor``)."""
        try:
            decoded = self.decode(record)
        except PoisonMessage as poison:
            self._settle_as_dead(record, poison.envelope, poison)
            return []
        if decoded is None:
            return []
        envelope, payload, handler = decoded
        tracing.note_correlation(envelope.correlation_id)
        with log_context(**log_fields(envelope)):
            return self._handle_or_give_up(record, envelope, payload, handler)

    def _handle_or_give_up(
        self, record: RawRecord, envelope: Envelope, payload: Message, handler: Handler
    ) -> list[Outgoing]:
        try:
            if self._needless_now(envelope, payload):
                self._attempts.forget(record)
                return []  # nothing committed: the relay has nothing new
            direct = self._handle(envelope, payload, handler)
        except Exception as error:
            attempts = self._attempts.fail(record)
            if attempts < self._max_attempts:
                log.warning("attempt %d of %s failed: %s", attempts, envelope.type, error_text(error))
                _back_off(attempts)
                raise
            if not self._compensated(record, envelope, payload, error):
                self._settle_as_dead(record, envelope, error)
            return []
        self._attempts.forget(record)
        return direct

    def _compensated(self, record: RawRecord, envelope: Envelope, payload: Message, error: Exception) -> bool:
        compensation = self._compensations.get(type(payload))
        if compensation is None:
            return False
        try:
            with Session(self._engine) as session, session.begin():
                if not already_processed(session, message_id=envelope.message_id):
                    self._settle(session, envelope, compensation(session, envelope, payload))
        except Exception:
            log.exception("could not compensate %s either", envelope.type)
            return False
        log.error(
            "gave up on %s after %d attempts (%s): compensated",
            envelope.type,
            self._max_attempts,
            error_text(error),
        )
        self._attempts.forget(record)
        self._on_compensated(record.topic)
        self._on_committed()
        return True

    def _settle_as_dead(self, record: RawRecord, envelope: Envelope | None, error: Exception) -> None:
        with log_context(**(log_fields(envelope) if envelope else {})):
            self._set_aside(record, envelope, error)

    def _set_aside(self, record: RawRecord, envelope: Envelope | None, error: Exception) -> None:
        try:
            self._dead_letter(record, envelope, error)
        except Exception:
            # Not even the dead letter could be written (database down): slow the redelivery loop.
            _back_off(self._max_attempts)
            raise
        self._attempts.forget(record)
        self._on_dead_lettered(record.topic)
        self._on_committed()

    def decode(self, record: RawRecord) -> Decoded | None:
        """The record's envelope, payload and handler; None when there is nothing for this service to
        do (a replay for another service, an event type it does not handle). Raises ``PoisonMessage``."""
        replay_for = dict(record.headers).get(REPLAY_FOR_HEADER)
        if replay_for is not None and replay_for != self._producer:
            return None
        try:
            envelope = Envelope.from_bytes(record.value)
        except (ValidationError, UnicodeDecodeError) as error:
            raise PoisonMessage(f"not an envelope: {_reason(error)}") from error
        if self._skip_unhandled and envelope.type not in self._handled_types:
            return None
        try:
            payload = payload_of(envelope)
        except (ValidationError, UnknownMessageType) as error:
            raise PoisonMessage(f"bad {envelope.type} payload: {_reason(error)}", envelope) from error
        handler = self._handlers.get(type(payload))
        if handler is None:
            raise PoisonMessage(f"{self._producer} has no handler for {envelope.type}", envelope)
        return envelope, payload, handler

    def has_failed(self, record: RawRecord) -> bool:
        """Whether this record has failed an attempt not yet settled (it is being retried)."""
        return self._attempts.count(record) > 0

    def handle_within(self, session: Session, decoded: Decoded) -> bool:
        """A decoded record's inbox entry, handling and outbox rows in the caller's transaction; nothing
        when the inbox already has it. A ``Rejection`` propagates: the caller's transaction is void.
        True when it wrote outbox rows (the relay is to be told once the transaction commits)."""
        envelope, payload, handler = decoded
        if record_first_time(session, envelope=envelope):
            return self._enqueue(session, handler(session, envelope, payload))
        return False

    def committed(self) -> None:
        """Tell the relay that a transaction of this processor's committed outbox rows."""
        self._on_committed()

    def _needless_now(self, envelope: Envelope, payload: Message) -> bool:
        check = self._needless.get(type(payload))
        if check is None:
            return False
        with read_session(self._engine) as session:
            return check(session, envelope, payload)

    def _handle(self, envelope: Envelope, payload: Message, handler: Handler) -> list[Outgoing]:
        """Nothing to send at once: what the handling sends is in the outbox, and the relay is woken only
        when there is something (most events a service listens to, and every activity record, send none)."""
        try:
            with Session(self._engine) as session, session.begin():
                first = record_first_time(session, envelope=envelope)
                wrote = first and self._enqueue(session, handler(session, envelope, payload))
        except Rejection as rejection:
            wrote = self._settle_alone(envelope, self._refusal(envelope, rejection))
        if wrote:
            self._on_committed()
        return []

    def _refusal(self, envelope: Envelope, rejection: Rejection) -> list[Outgoing]:
        refusal = CommandRejected(reason=rejection.reason, detail=rejection.detail)
        return reply_to(envelope, refusal, producer=self._producer)

    def _settle_alone(self, envelope: Envelope, outgoing: list[Outgoing]) -> bool:
        with Session(self._engine) as session, session.begin():
            return record_first_time(session, envelope=envelope) and self._enqueue(session, outgoing)

    @classmethod
    def _settle(cls, session: Session, envelope: Envelope, outgoing: list[Outgoing]) -> None:
        record_processed(session, envelope=envelope)
        cls._enqueue(session, outgoing)

    @staticmethod
    def _enqueue(session: Session, outgoing: list[Outgoing]) -> bool:
        return enqueue_envelopes(session, [(o.topic, o.key, o.envelope) for o in outgoing]) > 0

    def _dead_letter(self, record: RawRecord, envelope: Envelope | None, error: Exception) -> None:
        reason = error_text(error)
        # The message id is what `roster-admin dlq list` and `dlq show` print (MESSAGE_ID): the letter's
        # own id, its place on the .dlq topic, is known only once the outbox published it.
        named = f"{envelope.type} message {envelope.message_id}" if envelope is not None else "a record"
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        log.error("dead-lettering %s from %s: %s", named, where, reason)
        headers = {
            **dict(record.headers),
            "x-error": reason,
            "x-dead-lettered-by": self._producer,
            "x-original-topic": record.topic,
            "x-original-partition": str(record.partition),
            "x-original-offset": str(record.offset),
        }
        with Session(self._engine) as session, session.begin():
            if envelope is not None and already_processed(session, message_id=envelope.message_id):
                return
            enqueue(
                session,
                topic=dead_letter_topic(record.topic),
                key=record.key,
                value=record.value,
                headers=headers,
            )
            if envelope is not None:
                failure = CommandRejected(
                    reason=RejectionReason.INTERNAL_ERROR,
                    detail="Roster could not process this request; it has been set aside for support.",
                )
                self._settle(session, envelope, reply_to(envelope, failure, producer=self._producer))
