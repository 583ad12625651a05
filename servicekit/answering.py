"""Queries answered from a read transaction: no inbox row, no outbox row, the reply sent at once.

A query changes nothing, so it needs neither of the inbox/outbox guarantees (docs/architecture.md
§3): answering it twice is harmless, and its reply carries no state that must outlive a crash. The
service publishes the reply (acks=all) *before* it commits the query's offset, so a crash in between
answers again instead of leaving the requester without an answer. The transaction keeps nothing
(``read_session``: rolled back, or committed read-only on PostgreSQL); a handler that tries to change
something is a bug and fails loudly.
"""

from __future__ import annotations

from contracts.envelope import Envelope, Message
from contracts.rejections import Rejection
from servicekit.db import read_session
from servicekit.handling import MessageProcessor
from servicekit.messaging import OutboundRecord, outbound_record
from servicekit.records import Handler, Outgoing


class QueryProcessor(MessageProcessor):
    """``MessageProcessor`` for a service's query topic: what ``process`` returns is the reply."""

    def _handle(self, envelope: Envelope, payload: Message, handler: Handler) -> list[Outgoing]:
        try:
            with read_session(self._engine) as session:
                return handler(session, envelope, payload)
        except Rejection as rejection:
            return self._refusal(envelope, rejection)


def as_records(outgoing: list[Outgoing]) -> list[OutboundRecord]:
    """Replies to publish now, in the relay's shape (never stored)."""
    return [outbound_record(topic=o.topic, key=o.key, envelope=o.envelope) for o in outgoing]
