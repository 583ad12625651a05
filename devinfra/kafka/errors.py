"""The one error the local Kafka reports."""

from __future__ import annotations


class KafkaError(RuntimeError):
    """Resolving the jars, formatting storage or starting a broker failed."""
