"""Settings shared by every service: Kafka, topics, database, delivery attempts.

Each service subclasses ``ServiceSettings`` in its own ``config.py``. Bad values fail at start-up.
A value comes from the environment, else from a file named like its variable in the secrets
directory (``ROSTER_SECRETS_DIR``: Docker and Kubernetes mount secrets as files), else its default
(``servicekit/settings_base.py``).
``python -m servicekit.settings_doc --write`` turns these classes into docs/configuration.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from servicekit.settings_base import DEFAULT_STATE_DIR, RosterSettings

SERVICE_NAME_DESCRIPTION = "Names its consumer groups, Kafka clients and database; leave it as it is."
BOOTSTRAP_DESCRIPTION = (
    "One broker or several, `host1:9092,host2:9092`: clients bootstrap from whichever listed broker answers."
)


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


_DRIVERS = frozenset({("postgresql", "psycopg"), ("sqlite", "pysqlite")})
"""The databases and drivers Roster is built and tested with (``postgresql://`` means psycopg)."""


class ServiceSettings(RosterSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_name: str = Field(description=SERVICE_NAME_DESCRIPTION)
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:9092", description=BOOTSTRAP_DESCRIPTION)
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT",
        validation_alias="KAFKA_SECURITY_PROTOCOL",
        description="How every Kafka client (producers, consumers, admin) reaches the brokers: TLS (`SSL`,"
        " `SASL_SSL`), SASL authentication (`SASL_PLAINTEXT`, `SASL_SSL`), both, or neither.",
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512",
        validation_alias="KAFKA_SASL_MECHANISM",
        description="The SASL mechanism, with `SASL_PLAINTEXT` or `SASL_SSL`.",
    )
    kafka_sasl_username: str = Field(
        default="", validation_alias="KAFKA_SASL_USERNAME", description="The SASL user; required with SASL."
    )
    kafka_sasl_password: SecretStr = Field(
        default=SecretStr(""),
        validation_alias="KAFKA_SASL_PASSWORD",
        description="The SASL user's password; required with SASL.",
    )
    kafka_ssl_cafile: Path | None = Field(
        default=None,
        validation_alias="KAFKA_SSL_CAFILE",
        description="PEM file of the CA the brokers' certificates are checked against (else the system's).",
    )
    kafka_ssl_certfile: Path | None = Field(
        default=None,
        validation_alias="KAFKA_SSL_CERTFILE",
        description="PEM client certificate, for brokers that require mutual TLS (with `KAFKA_SSL_KEYFILE`).",
    )
    kafka_ssl_keyfile: Path | None = Field(
        default=None,
        validation_alias="KAFKA_SSL_KEYFILE",
        description="PEM private key of the client certificate.",
    )
    kafka_ssl_key_password: SecretStr | None = Field(
        default=None,
        validation_alias="KAFKA_SSL_KEY_PASSWORD",
        description="Password of `KAFKA_SSL_KEYFILE`, when the key is encrypted.",
    )
    topic_partitions: int = Field(default=6, ge=1, description="Partitions of the topics it creates.")
    topic_replication_factor: int = Field(
        default=1, ge=1, description="Replicas of the topics it creates (production: 3)."
    )
    topic_min_insync_replicas: int = Field(
        default=1, ge=1, description="`min.insync.replicas` of the topics it creates (production: 2)."
    )
    database_url: str = Field(
        default="",
        description="This process's own database. Empty: derived from `DATABASE_URL`, else a SQLite file.",
    )
    database_password: SecretStr | None = Field(
        default=None,
        description="Replaces the password in this process's database URL, its own or the one derived from"
        " `DATABASE_URL`.",
    )
    topic_retention_hours: float = Field(
        default=7 * 24, gt=0, description="`retention.ms` of the topics it creates."
    )
    shared_database_url: str = Field(
        default="",
        validation_alias="DATABASE_URL",
        description="A server for every process, each in its own database `<name>_<service>`"
        " (SQLite: a file per service beside the one named).",
    )
    shared_database_password: SecretStr | None = Field(
        default=None,
        validation_alias="DATABASE_PASSWORD",
        description="Replaces the password in the URLs derived from `DATABASE_URL` (not in a process's"
        " own URL).",
    )
    state_dir: Path = Field(
        default=DEFAULT_STATE_DIR,
        validation_alias="ROSTER_STATE_DIR",
        description="Where the SQLite files go when no database URL is given.",
    )

    @model_validator(mode="after")
    def _check(self) -> ServiceSettings:
        if self.topic_min_insync_replicas > self.topic_replication_factor:
            prefix = self.model_config.get("env_prefix", "")
            raise ValueError(
                f"{prefix}TOPIC_MIN_INSYNC_REPLICAS cannot exceed {prefix}TOPIC_REPLICATION_FACTOR"
            )
        broker_list(self.kafka_bootstrap_servers)  # fails fast on an empty or malformed list
        self._check_kafka_security()
        self._check_database_url()
        return self

    def _check_database_url(self) -> None:
        """Fails fast on a malformed URL, naming the variables and never quoting the URL: it may hold
        a password, and a password with an unescaped ``@`` would otherwise show up as the host or port."""
        variables = f"{self.service_name.upper()}_DATABASE_URL or DATABASE_URL"
        try:
            url = make_url(self.resolved_database_url())
        except (ArgumentError, ValueError):
            raise ValueError(
                f"the database URL ({variables}) is not one, e.g. postgresql+psycopg://user@host/roster"
                " or sqlite:///var/roster.db"
            ) from None
        if (url.get_backend_name(), url.get_driver_name()) not in _DRIVERS:
            raise ValueError(
                f"the database URL ({variables}) names {url.drivername}: Roster runs on PostgreSQL through"
                " psycopg (postgresql+psycopg://user@host/roster) or on SQLite (sqlite:///var/roster.db)"
            )
        if "@" in (url.host or ""):
            raise ValueError(f"the database URL ({variables}) has an @ in its password: write it %40")

    def _check_kafka_security(self) -> None:
        if self.kafka_uses_sasl and not (
            self.kafka_sasl_username and self.kafka_sasl_password.get_secret_value()
        ):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs KAFKA_SASL_USERNAME and "
                "KAFKA_SASL_PASSWORD"
            )
        if (self.kafka_ssl_certfile is None) != (self.kafka_ssl_keyfile is None):
            raise ValueError("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together (mutual TLS)")
        files = {
            "KAFKA_SSL_CAFILE": self.kafka_ssl_cafile,
            "KAFKA_SSL_CERTFILE": self.kafka_ssl_certfile,
            "KAFKA_SSL_KEYFILE": self.kafka_ssl_keyfile,
        }
        for variable, path in files.items():
            if path is not None and not self.kafka_uses_tls:
                raise ValueError(f"{variable} needs KAFKA_SECURITY_PROTOCOL SSL or SASL_SSL")
            if path is not None and not path.is_file():
                raise ValueError(f"{variable}={path} is not a readable file")

    @property
    def kafka_uses_sasl(self) -> bool:
        return self.kafka_security_protocol.startswith("SASL_")

    @property
    def kafka_uses_tls(self) -> bool:
        return self.kafka_security_protocol.endswith("SSL")

    @property
    def kafka_servers(self) -> list[str]:
        """The brokers to bootstrap from, as the list every Kafka client is given."""
        return broker_list(self.kafka_bootstrap_servers)

    def resolved_database_url(self) -> str:
        """Own URL if given; else the shared server with a database per service (a SQLite file per
        service beside the one named); else SQLite in the state directory. A configured password
        replaces the URL's."""
        if self.database_url:
            return self._with_password(self.database_url, self.database_password)
        if self.shared_database_url:
            shared = make_url(self.shared_database_url)
            if shared.get_backend_name() == "sqlite":
                # A file per service beside the one named: each database has one migration history.
                database = Path(shared.database or "roster.db")
                own_file = database.with_name(f"{database.stem}_{self.service_name}{database.suffix}")
                return shared.set(database=str(own_file)).render_as_string()
            own = shared.set(database=f"{shared.database or 'roster'}_{self.service_name}")
            password = self.database_password or self.shared_database_password
            return self._with_password(own.render_as_string(hide_password=False), password)
        return f"sqlite:///{self.state_dir / (self.service_name + '.db')}"

    @staticmethod
    def _with_password(url: str, password: SecretStr | None) -> str:
        if password is None:
            return url
        return make_url(url).set(password=password.get_secret_value()).render_as_string(hide_password=False)


class ConsumingServiceSettings(ServiceSettings):
    """A service run by ``servicekit.service``: consumers, the outbox relay, a health listener."""

    health_port: int = Field(
        default=0, ge=0, le=65535, description="Port of `/livez` and `/readyz` (0: no listener)."
    )
    health_host: str = Field(default="127.0.0.1", description="Address of the health listener.")
    relay_stuck_after_seconds: float = Field(
        default=60.0, gt=0, description="Not ready while an unpublished message is older than this."
    )
    max_delivery_attempts: int = Field(
        default=5, ge=1, description="Tries before a message is dead-lettered."
    )
    outbox_relay_enabled: bool = Field(
        default=True, description="False holds outgoing messages in the outbox (maintenance, fault drills)."
    )
    offset_commit_interval_ms: int = Field(
        default=1000,
        ge=0,
        description=(
            "Longest wait before a handled record's offset is committed: each consumer commits the "
            "latest of each partition in one request (0: after every record). A crash redelivers what "
            "was handled in between; the inbox skips it."
        ),
    )
    message_retention_hours: float = Field(
        default=14 * 24, gt=0, description="How long published outbox rows and inbox entries are kept."
    )

    @model_validator(mode="after")
    def _check_retention(self) -> ConsumingServiceSettings:
        if self.message_retention_hours <= self.topic_retention_hours:
            # An inbox entry forgotten while its message can still be redelivered breaks idempotency.
            prefix = self.model_config.get("env_prefix", "")
            raise ValueError(f"{prefix}MESSAGE_RETENTION_HOURS must exceed {prefix}TOPIC_RETENTION_HOURS")
        return self
