from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from faststream.kafka import KafkaBroker
from sqlalchemy import Engine

from servicekit.db import create_tables, make_engine
from servicekit.kafka import TopicDirectory, make_broker, outbox_publisher
from servicekit.messaging import MESSAGING_TABLES
from servicekit.relay import PublishBatch
from servicekit.settings import ServiceSettings


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A fresh database holding only the messaging tables (inbox, outbox), on SQLite and PostgreSQL."""
    created = make_engine(database_url)
    create_tables(created, MESSAGING_TABLES)
    yield created
    created.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """The messaging tables on a SQLite file: one process, as the SQLite-only rules assume."""
    created = make_engine(f"sqlite:///{tmp_path / 'messaging.db'}")
    create_tables(created, MESSAGING_TABLES)
    yield created
    created.dispose()


@pytest.fixture
def settings(kafka_bootstrap: str) -> ServiceSettings:
    """A service's settings on the session's Kafka broker, for the relay tests."""
    return ServiceSettings(service_name="relay-test", kafka_bootstrap_servers=kafka_bootstrap)


@pytest.fixture
async def publish_batch(settings: ServiceSettings) -> AsyncIterator[PublishBatch]:
    """The publisher the services use: their broker settings, their topic directory."""
    broker: KafkaBroker = make_broker(settings, client_id="relay-test")
    directory = TopicDirectory(settings)
    await broker.start()
    try:
        yield outbox_publisher(broker, directory)
    finally:
        await broker.stop()
        await directory.close()
