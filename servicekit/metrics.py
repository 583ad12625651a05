"""Prometheus metrics of one process: FastStream's Kafka metrics plus Roster's own.

Each process owns a ``CollectorRegistry`` (nothing is registered at import, so tests may build many
apps in one interpreter). Counters are bumped where things happen; the gauges read from the database
(outbox backlog and age, a service's own backlogs such as the seat sagas) are computed at scrape time
in a worker thread, and consumer lag is read from this instance's Kafka consumers just before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiokafka import TopicPartition
from fastapi import APIRouter
from fastapi.responses import Response
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from servicekit.clock import as_utc, utc_now
from servicekit.db import read_session
from servicekit.messaging import OutboxEntry

PREFIX = "roster"


@dataclass(frozen=True)
class DatabaseGauge:
    """A gauge read from the service's database at scrape time: ``read(session)`` → its value."""

    name: str
    documentation: str
    read: Callable[[Session], float]


def seconds_since(moment: Any) -> float:
    """Seconds since a stored time (``None``, an empty table's minimum: 0)."""
    return 0.0 if moment is None else (utc_now() - as_utc(moment)) / timedelta(seconds=1)


def _outbox_backlog(session: Session) -> float:
    unpublished = select(func.count()).select_from(OutboxEntry).where(col(OutboxEntry.published_at).is_(None))
    return float(session.exec(unpublished).one())


def _outbox_oldest_age(session: Session) -> float:
    query = select(func.min(OutboxEntry.created_at)).where(col(OutboxEntry.published_at).is_(None))
    return seconds_since(session.exec(query).one())


OUTBOX_GAUGES = (
    DatabaseGauge(
        f"{PREFIX}_outbox_unpublished",
        "Outbox rows not yet marked published (on SQLite, up to a second after Kafka took them).",
        _outbox_backlog,
    ),
    DatabaseGauge(
        f"{PREFIX}_outbox_oldest_unpublished_seconds",
        "Age of the oldest unpublished outbox row (0 when the outbox is empty).",
        _outbox_oldest_age,
    ),
)


class _DatabaseCollector(Collector):
    def __init__(self, engine: Engine, gauges: Sequence[DatabaseGauge], service: str) -> None:
        self._engine = engine
        self._gauges = gauges
        self._service = service

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with read_session(self._engine) as session:
            for gauge in self._gauges:
                family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=["service"])
                family.add_metric([self._service], gauge.read(session))
                yield family


class ConsumerLag:
    """Records behind the end of each partition this instance holds (high watermark minus position),
    per consumer group and topic, refreshed just before each scrape."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._gauge = Gauge(
            f"{PREFIX}_consumer_lag_messages",
            "Records not yet consumed on the partitions this instance holds.",
            ["group", "topic"],
            registry=registry,
        )
        self._subscribers: list[tuple[str, Any]] = []

    def watch(self, group: str, subscriber: Any) -> None:
        """``subscriber``: a FastStream Kafka subscriber; its aiokafka consumer exists once started."""
        self._subscribers.append((group, subscriber))

    async def refresh(self) -> None:
        for group, subscriber in self._subscribers:
            consumer = getattr(subscriber, "consumer", None)
            if consumer is None:
                continue
            lag: dict[str, int] = {}
            for partition in consumer.assignment():
                lag[partition.topic] = lag.get(partition.topic, 0) + await _partition_lag(consumer, partition)
            for topic, behind in lag.items():
                self._gauge.labels(group, topic).set(behind)


async def _partition_lag(consumer: Any, partition: TopicPartition) -> int:
    highwater: int | None = consumer.highwater(partition)  # known after the first fetch from it
    if highwater is None:
        return 0
    position: int = await consumer.position(partition)
    return max(0, highwater - position)


class ServiceMetrics:
    """A service process's metrics: Kafka (FastStream), dead letters, outbox, lag, its own gauges."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self.kafka_middleware = KafkaPrometheusMiddleware(registry=self.registry, app_name=service)
        self.consumer_lag = ConsumerLag(self.registry)
        self._dead_letters = Counter(
            f"{PREFIX}_dead_letters",
            "Messages set aside on <topic>.dlq by this process, by the topic they came from.",
            ["service", "topic"],
            registry=self.registry,
        )

        self._producer_renewals = Counter(
            f"{PREFIX}_kafka_producer_renewals",
            "Kafka producers replaced because Kafka refused the previous one for good"
            " (OutOfOrderSequenceNumber, e.g. after every broker was down at once).",
            ["service"],
            registry=self.registry,
        )
        self._producer_renewals.labels(service)  # at 0 from the start, as the other counters
        self._compensated = Counter(
            f"{PREFIX}_compensated",
            "Messages that failed every attempt and were undone by their compensation, by topic.",
            ["service", "topic"],
            registry=self.registry,
        )

    def consumes(self, topic: str) -> None:
        """The counters of a topic this process reads, exported at 0 from the start: an alert on
        ``increase(…) > 0`` sees nothing of a series whose first sample already holds the count."""
        self._compensated.labels(self.service, topic)
        self._dead_letters.labels(self.service, topic)

    def compensated(self, topic: str) -> None:
        self._compensated.labels(self.service, topic).inc()

    def producer_renewed(self) -> None:
        self._producer_renewals.labels(self.service).inc()

    def dead_lettered(self, topic: str) -> None:
        self._dead_letters.labels(self.service, topic).inc()

    def watch_database(self, engine: Engine, gauges: Iterable[DatabaseGauge]) -> None:
        self.registry.register(_DatabaseCollector(engine, [*OUTBOX_GAUGES, *gauges], self.service))

    def router(self) -> APIRouter:
        return metrics_router(self.registry, before_scrape=self.consumer_lag.refresh)


def metrics_router(
    registry: CollectorRegistry, *, before_scrape: Callable[[], Any] | None = None
) -> APIRouter:
    """``GET /metrics`` in Prometheus' text format; collection (database reads) runs off the loop."""
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def metrics() -> Response:
        if before_scrape is not None:
            await before_scrape()
        body = await asyncio.to_thread(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router
