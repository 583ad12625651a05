"""Settings shared by every service: Kafka, topics, database, delivery attempts.

Each service subclasses ``ServiceSettings`` in its own ``config.py``. Bad values fail at start-up.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

DEFAULT_STATE_DIR = Path("var")


def broker_list(bootstrap_servers: str) -> list[str]:
    """``host1:9092,host2:9092`` as ``["host1:9092", "host2:9092"]``. Kafka clients get the list, never
    the string: FastStream takes a string for one broker and never splits it at the commas."""
    servers = [server.strip() for server in bootstrap_servers.split(",")]
    for server in servers:
        host, colon, port = server.rpartition(":")
        if not server or (colon and not (host and port.isdigit())):
            raise ValueError(
                f"kafka_bootstrap_servers must be host:port entries separated by commas, "
                f"got {bootstrap_servers!r}"
            )
    return servers


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_name: str = Field(description="Names the consumer group, producer and database.")
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="One broker or several: ``host1:9092,host2:9092``."
    )
    topic_partitions: int = Field(default=6, ge=1)
    topic_replication_factor: int = Field(default=1, ge=1)
    topic_min_insync_replicas: int = Field(default=1, ge=1)
    max_delivery_attempts: int = Field(default=5, ge=1, description="Then the message is dead-lettered.")
    database_url: str = Field(
        default="",
        description="This service's database. Empty: derived from DATABASE_URL, else a SQLite file.",
    )
    outbox_relay_enabled: bool = Field(
        default=True, description="False holds outgoing messages in the outbox (maintenance, fault drills)."
    )
    topic_retention_hours: float = Field(default=7 * 24, gt=0, description="retention.ms of created topics.")
    message_retention_hours: float = Field(
        default=14 * 24, gt=0, description="How long published outbox rows and inbox entries are kept."
    )
    shared_database_url: str = Field(default="", validation_alias="DATABASE_URL")
    state_dir: Path = Field(default=DEFAULT_STATE_DIR, validation_alias="ROSTER_STATE_DIR")

    @model_validator(mode="after")
    def _check(self) -> ServiceSettings:
        if self.topic_min_insync_replicas > self.topic_replication_factor:
            raise ValueError("topic_min_insync_replicas cannot exceed topic_replication_factor")
        if self.message_retention_hours <= self.topic_retention_hours:
            # An inbox entry forgotten while its message can still be redelivered breaks idempotency.
            raise ValueError("message_retention_hours must exceed topic_retention_hours")
        broker_list(self.kafka_bootstrap_servers)  # fails fast on an empty or malformed list
        make_url(self.resolved_database_url())  # fails fast on a malformed URL
        return self

    @property
    def kafka_servers(self) -> list[str]:
        """The brokers to bootstrap from, as the list every Kafka client is given."""
        return broker_list(self.kafka_bootstrap_servers)

    def resolved_database_url(self) -> str:
        """Own URL if given; else the shared server with a database per service (a SQLite file per
        service beside the one named); else SQLite in the state directory."""
        if self.database_url:
            return self.database_url
        if self.shared_database_url:
            shared = make_url(self.shared_database_url)
            if shared.get_backend_name() == "sqlite":
                # A file per service beside the one named: each database has one migration history.
                database = Path(shared.database or "roster.db")
                own_file = database.with_name(f"{database.stem}_{self.service_name}{database.suffix}")
                return shared.set(database=str(own_file)).render_as_string()
            own = shared.set(database=f"{shared.database or 'roster'}_{self.service_name}")
            return own.render_as_string(hide_password=False)
        return f"sqlite:///{self.state_dir / (self.service_name + '.db')}"


class ConsumingServiceSettings(ServiceSettings):
    """A service run by ``servicekit.service``: consumers, the outbox relay, a health listener."""

    health_port: int = Field(
        default=0, ge=0, le=65535, description="Port of `/livez` and `/readyz` (0: no listener)."
    )
    health_host: str = Field(default="127.0.0.1", description="Address of the health listener.")
    relay_stuck_after_seconds: float = Field(
        default=60.0, gt=0, description="Not ready while an unpublished message is older than this."
    )
