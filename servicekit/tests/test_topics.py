"""Topic set-up starts again while it fails the way a broker that just went down makes it fail (an
error Kafka calls retriable, or a timeout); anything else is raised as it came. The whole behaviour,
with the first listed broker of three down, is proven in tests/test_kafka_cluster_bootstrap.py."""

from __future__ import annotations

import pytest
from aiokafka.errors import (
    InvalidReplicationFactorError,
    KafkaConnectionError,
    NodeNotReadyError,
    RequestTimedOutError,
    TopicAuthorizationFailedError,
)

from servicekit.topics import TopicCreationFailed, retriable


@pytest.mark.parametrize(
    "error", [NodeNotReadyError("node 1"), KafkaConnectionError(), RequestTimedOutError(), TimeoutError()]
)
def test_a_broker_that_is_down_is_worth_asking_again(error: Exception) -> None:
    assert retriable(error)


@pytest.mark.parametrize(
    "error",
    [
        TopicAuthorizationFailedError(),
        InvalidReplicationFactorError(),
        TopicCreationFailed("x"),
        ValueError(),
    ],
)
def test_a_refusal_is_not(error: Exception) -> None:
    assert not retriable(error)
