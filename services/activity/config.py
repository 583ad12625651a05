from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import BOOTSTRAP_DESCRIPTION, SERVICE_NAME_DESCRIPTION, ConsumingServiceSettings


class ActivitySettings(ConsumingServiceSettings):
    """Environment: ``ACTIVITY_DATABASE_URL`` (else ``DATABASE_URL``), ``KAFKA_BOOTSTRAP_SERVERS``,
    ``ACTIVITY_RETENTION_DAYS``…"""

    model_config = SettingsConfigDict(env_prefix="ACTIVITY_", extra="ignore", frozen=True)

    service_name: str = Field(default="activity", description=SERVICE_NAME_DESCRIPTION)
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias="KAFKA_BOOTSTRAP_SERVERS",
        description=BOOTSTRAP_DESCRIPTION,
    )
    retention_days: int = Field(
        default=30, ge=1, le=3650, description="How long the activity log keeps an entry (days)."
    )
    purge_batch: int = Field(
        default=5000,
        ge=1,
        le=100_000,
        description="Entries past their retention removed per purge, one transaction each (a purge runs"
        " every 10 seconds).",
    )
    batch_max_records: int = Field(
        default=200,
        ge=1,
        le=10_000,
        description="Most events and request outcomes recorded in one transaction: as many as one poll of"
        " Kafka returns (see ACTIVITY_BATCH_WAIT_MS; 1: each in its own transaction).",
    )
    batch_wait_ms: int = Field(
        default=200,
        ge=0,
        le=5_000,
        description="How long Kafka may hold a fetch of the activity service's topics to gather events and"
        " request outcomes into one transaction (ms): the log lags up to this much behind, and a steady"
        " stream costs a fraction of the transactions and fetch requests. 0: each poll is answered as soon"
        " as one record is there.",
    )
