"""What a service is, declared: its name, schema, the topics it consumes and owns, and the work it does
on a timer. ``servicekit.service`` runs one; each service's ``app.py`` declares it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from contracts.envelope import Message
from servicekit.metrics import DatabaseGauge
from servicekit.migrations import SchemaHistory
from servicekit.records import HandlerMap, NeedlessCheck


@dataclass(frozen=True)
class Periodic:
    """Work a service does on a timer, each run one transaction: ``run(session, now)`` returns how
    many things it did; the messages it wrote to the outbox are relayed as a handler's are."""

    name: str
    every_seconds: float
    run: Callable[[Session, datetime], int]


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    schema: SchemaHistory  # its tables and migrations
    subscriptions: Mapping[str, HandlerMap]  # topic → handlers for the messages on it
    owned_topics: Sequence[str]  # created (with their dead-letter topics) at start-up
    # Query topics: answered from a read transaction, the reply sent before the offset commit
    # (servicekit/answering.py).
    queries: Mapping[str, HandlerMap] = field(default_factory=dict)
    # Other services' event topics: only the handled types matter, the rest is acknowledged.
    listens: Mapping[str, HandlerMap] = field(default_factory=dict)
    periodic: Sequence[Periodic] = ()
    gauges: Sequence[DatabaseGauge] = ()  # beyond the outbox's, read at each scrape of /metrics
    # By message type, on any topic: what undoes a message that failed every attempt (a saga step).
    compensations: HandlerMap = field(default_factory=dict)
    # By message type, on any topic: a read that proves a message needs no handling (servicekit/handling.py).
    needless: Mapping[type[Message], NeedlessCheck] = field(default_factory=dict)
    # Topics whose records are handled up to ``batch_max_records`` to a transaction, as one poll returns
    # them (servicekit/batching.py): for consumers that only record what they read, not for commands.
    batched: frozenset[str] = frozenset()
    batch_max_records: int = 1
    # How long the broker may hold a batched topic's fetch to gather more records (0: answered as soon
    # as one is there): the records lag up to this much, and a stream of them shares transactions.
    batch_wait_ms: int = 0
