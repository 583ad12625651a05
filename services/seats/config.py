from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import BOOTSTRAP_DESCRIPTION, SERVICE_NAME_DESCRIPTION, ConsumingServiceSettings
from services.seats.domain import DEFAULT_ALLOWANCE_BLOCK


class SeatsSettings(ConsumingServiceSettings):
    """Environment: ``SEATS_DATABASE_URL`` (else ``DATABASE_URL``), ``KAFKA_BOOTSTRAP_SERVERS``…"""

    model_config = SettingsConfigDict(env_prefix="SEATS_", extra="ignore", frozen=True)

    service_name: str = Field(default="seats", description=SERVICE_NAME_DESCRIPTION)
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias="KAFKA_BOOTSTRAP_SERVERS",
        description=BOOTSTRAP_DESCRIPTION,
    )
    allowance_block: int = Field(
        default=DEFAULT_ALLOWANCE_BLOCK,
        ge=0,
        le=10_000,
        description=(
            "Seats set aside for the users service with a reservation, at most (never more than half "
            "of those free): it activates that many users without asking this service. 0: every "
            "activation asks (docs/architecture.md §4)."
        ),
    )
