"""Service settings fail fast on a bad broker list and hand every Kafka client a list."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from servicekit.settings import ServiceSettings


@pytest.mark.parametrize(
    ("configured", "servers"),
    [
        ("127.0.0.1:9092", ["127.0.0.1:9092"]),
        ("host1:9092,host2:9092,host3:9092", ["host1:9092", "host2:9092", "host3:9092"]),
        (" host1:9092 , host2:9093", ["host1:9092", "host2:9093"]),
        ("kafka", ["kafka"]),  # the clients' default port
    ],
)
def test_the_bootstrap_servers_are_a_list_of_brokers(configured: str, servers: list[str]) -> None:
    settings = ServiceSettings(service_name="s", kafka_bootstrap_servers=configured)
    assert settings.kafka_servers == servers


@pytest.mark.parametrize(
    "configured", ["", " ", "host1:9092,,host2:9092", "host1:9092,", "host:port", ":9092"]
)
def test_a_malformed_broker_list_fails_at_start_up(configured: str) -> None:
    with pytest.raises(ValidationError, match="host:port entries separated by commas"):
        ServiceSettings(service_name="s", kafka_bootstrap_servers=configured)
