"""The gateway's ``/livez`` and ``/readyz`` (``/healthz``: liveness, kept for load balancers set up
before): ready once its database and Kafka answer and its reply consumer holds the reply topic's
partition, so the first request after start-up is not left waiting for the consumer to join."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from faststream.kafka import KafkaBroker
from sqlalchemy import Engine

from servicekit import readiness

NOT_STARTED: Mapping[str, readiness.Check] = {}


def readiness_checks(
    *, engine: Engine, broker: KafkaBroker, reply_subscriber: object
) -> dict[str, readiness.Check]:
    def reply_partitions() -> int:
        consumer = getattr(reply_subscriber, "consumer", None)  # FastStream's aiokafka consumer, once started
        return 0 if consumer is None else len(consumer.assignment())

    return {
        "database": readiness.database_check(engine),
        "kafka": readiness.kafka_check(broker),
        "replies": readiness.assigned_check(reply_partitions),
    }


def _checks_of(request: Request) -> Mapping[str, readiness.Check]:
    return getattr(request.app.state, "readiness_checks", NOT_STARTED)


def install(app: FastAPI) -> None:
    app.include_router(readiness.health_router(_checks_of, liveness_paths=("/livez", "/healthz")))
