"""A SASL_SSL listener next to a node's PLAINTEXT one: TLS with a PEM keystore, SCRAM-SHA-512
users created when the storage is formatted (KRaft keeps SCRAM credentials in its metadata log).

The PLAINTEXT listener stays for the controller, the brokers among themselves and readiness
checks; clients given only the secured address see only secured addresses in metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devinfra.ports import HOST

LISTENER = "SECURED"
MECHANISM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class SecuredListener:
    port: int
    keystore: Path  # PEM: key (PKCS#8, unencrypted) + certificate chain
    users: Mapping[str, str]  # SCRAM-SHA-512 user → password

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.port}"

    def server_properties(self, plaintext: Mapping[str, str]) -> dict[str, str]:
        """``plaintext``'s listener settings with this listener added."""
        prefix = f"listener.name.{LISTENER.lower()}"
        address = f"{LISTENER}://{HOST}:{self.port}"
        protocols = plaintext["listener.security.protocol.map"]
        return {
            "listeners": f"{plaintext['listeners']},{address}",
            "advertised.listeners": f"{plaintext['advertised.listeners']},{address}",
            "listener.security.protocol.map": f"{protocols},{LISTENER}:SASL_SSL",
            f"{prefix}.sasl.enabled.mechanisms": MECHANISM,
            f"{prefix}.{MECHANISM.lower()}.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            f"{prefix}.ssl.keystore.type": "PEM",
            f"{prefix}.ssl.keystore.location": str(self.keystore),
        }

    def format_arguments(self) -> list[str]:
        """``kafka-storage format`` options that create the SCRAM users."""
        arguments: list[str] = []
        for user, password in self.users.items():
            arguments += ["--add-scram", f"{MECHANISM}=[name={user},password={password}]"]
        return arguments
