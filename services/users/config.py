from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import BOOTSTRAP_DESCRIPTION, SERVICE_NAME_DESCRIPTION, ConsumingServiceSettings


class UsersSettings(ConsumingServiceSettings):
    """Environment: ``USERS_DATABASE_URL`` (else ``DATABASE_URL``), ``KAFKA_BOOTSTRAP_SERVERS``…"""

    model_config = SettingsConfigDict(env_prefix="USERS_", extra="ignore", frozen=True)

    service_name: str = Field(default="users", description=SERVICE_NAME_DESCRIPTION)
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias="KAFKA_BOOTSTRAP_SERVERS",
        description=BOOTSTRAP_DESCRIPTION,
    )
