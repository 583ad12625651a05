from __future__ import annotations

from uuid import uuid4

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from servicekit.settings import BOOTSTRAP_DESCRIPTION, SERVICE_NAME_DESCRIPTION, ServiceSettings
from servicekit.settings_base import RosterSettings


class GatewayDatabaseSettings(ServiceSettings):
    """What ``migrate`` needs: the gateway's database (``GATEWAY_DATABASE_URL``, else ``DATABASE_URL``)."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    service_name: str = Field(default="gateway", description=SERVICE_NAME_DESCRIPTION)
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias="KAFKA_BOOTSTRAP_SERVERS",
        description=BOOTSTRAP_DESCRIPTION,
    )


class GatewayListenSettings(RosterSettings):
    """What ``--health`` needs: where the gateway listens (``GATEWAY_HOST``, ``GATEWAY_PORT``), and
    nothing else, so a healthcheck needs no admin token in its environment."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    host: str = Field(default="127.0.0.1", description="Address the gateway listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the gateway listens on.")


class GatewaySettings(GatewayDatabaseSettings, GatewayListenSettings):
    """Environment: ``GATEWAY_*``, plus ``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL`` and
    ``ROSTER_ADMIN_TOKEN`` (the admin API credential, at least 32 characters)."""

    admin_token: SecretStr = Field(
        validation_alias="ROSTER_ADMIN_TOKEN",
        description="The admin API's credential, at least 32 characters (`make run` generates one into"
        " `var/admin-token`).",
    )
    instance_id: str = Field(
        default_factory=lambda: uuid4().hex[:12],
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Names this instance's reply topic `gateway.replies.v1.<instance>`; unique per instance"
        " (default: 12 random hex characters at each start).",
    )
    request_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        lt=60,
        description="No reply by then: 503 + `Retry-After` (Okta gives up at 60 s).",
    )
    # While no broker answers, requests are answered 503 at once instead of after the request timeout.
    kafka_probe_interval_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often the gateway checks that a Kafka broker answers."
    )
    kafka_probe_timeout_seconds: float = Field(
        default=3.0, gt=0, le=30, description="A probe unanswered by then has failed."
    )
    kafka_probe_failures: int = Field(
        default=2,
        ge=1,
        le=10,
        description="This many failed probes in a row (and no reply meanwhile) mark Kafka unreachable:"
        " 503 + `Retry-After` at once until a probe succeeds.",
    )
    retry_after_seconds: int = Field(default=5, ge=1, description="The `Retry-After` every 503 gives.")
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="Larger request bodies: 413.")
    body_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="A request body not received in full by then: 408, and the connection closed.",
    )
    # A page travels as one Kafka message (1 MiB at most): 200 full Okta users stay well below it.
    max_page_size: int = Field(
        default=200, ge=1, le=500, description="Page size cap, advertised as `filter.maxResults`."
    )
    # Okta's "Push Now" sends every member in one PATCH: 10,000 members with display and $ref are ~2 MiB.
    max_group_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="Larger `/Groups` request bodies: 413."
    )
    # Above this many members a PATCH /Groups answers 204 instead of listing them all (RFC 7644 §3.5.2).
    group_patch_reply_max_members: int = Field(
        default=1000,
        ge=0,
        description="A group PATCH answers 200 with the group up to this many members, else 204.",
    )
    # High enough not to cap an honest IdP's import below what Roster serves (BENCHMARKS.md).
    rate_limit_per_second: float = Field(
        default=500.0,
        gt=0,
        description="Requests per second per tenant, shared by every gateway instance; then 429.",
    )
    rate_limit_burst: int = Field(default=1000, ge=1, description="Requests a tenant may send at once.")
    token_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="How long a SCIM token found valid is trusted without a database look-up. A revocation"
        " through this instance applies at once, through another instance within this time; 0: every"
        " request looks its token up.",
    )
    metrics_token: SecretStr | None = Field(
        default=None, description="When set, `/metrics` wants `Authorization: Bearer <it>`."
    )
    # The console's session cookies are signed with a key derived from this and the admin token.
    console_session_key: SecretStr | None = Field(
        default=None,
        description="Signs the console's session cookies (at least 32 characters; the same on every"
        " instance). Unset: a random key per process, so console sessions end when the gateway restarts.",
    )
    console_session_minutes: int = Field(
        default=480, ge=1, le=7 * 24 * 60, description="How long a console sign-in lasts."
    )

    activity_queue_size: int = Field(
        default=10_000,
        ge=1,
        le=1_000_000,
        description="SCIM request outcomes held in memory for the activity log until published; when"
        " full, new ones are dropped (counted), never waited for. A crash loses those held.",
    )
    activity_gather_ms: int = Field(
        default=200,
        ge=0,
        le=5_000,
        description="After a SCIM request's outcome is queued, how long others may join it before they"
        " are published together (0: at once). Fewer Kafka requests at low load; the activity log"
        " shows requests up to this much later.",
    )

    # Said without the length sent: a secret's length is part of what keeps it.
    @field_validator("admin_token")
    @classmethod
    def _long_enough(cls, token: SecretStr) -> SecretStr:
        if len(token.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return token

    @field_validator("console_session_key")
    @classmethod
    def _key_long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return key
