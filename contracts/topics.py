"""Topic names: ``<owner>.<kind>.v<major>``; dead letters on ``<topic>.dlq``."""

from __future__ import annotations

USERS_COMMANDS = "users.commands.v1"
USERS_QUERIES = "users.queries.v1"
USERS_EVENTS = "users.events.v1"

SEATS_COMMANDS = "seats.commands.v1"
SEATS_QUERIES = "seats.queries.v1"
SEATS_EVENTS = "seats.events.v1"

TEAMS_COMMANDS = "teams.commands.v1"
TEAMS_QUERIES = "teams.queries.v1"
TEAMS_EVENTS = "teams.events.v1"

GATEWAY_OUTCOMES = "gateway.outcomes.v1"
GATEWAY_REPLIES_PREFIX = "gateway.replies.v1."

ACTIVITY_QUERIES = "activity.queries.v1"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


def gateway_reply_topic(instance_id: str) -> str:
    """Each gateway instance owns one reply topic, so it receives only its own replies."""
    return f"{GATEWAY_REPLIES_PREFIX}{instance_id}"


def tenant_key(tenant: str) -> bytes:
    """Seat commands are keyed by tenant alone: one tenant's seats are counted one at a time."""
    return tenant.encode()


def resource_key(tenant: str, resource_id: str) -> bytes:
    """All messages about one resource share a partition, so they stay ordered."""
    return f"{tenant}:{resource_id}".encode()
