"""The activity service process: wiring only."""

from __future__ import annotations

import sys
from datetime import datetime

from sqlmodel import Session

from contracts.topics import ACTIVITY_QUERIES, GATEWAY_OUTCOMES, SEATS_EVENTS, TEAMS_EVENTS, USERS_EVENTS
from servicekit.definition import Periodic, ServiceDefinition
from servicekit.metrics import DatabaseGauge, seconds_since
from servicekit.process import check_arguments, run_process
from services.activity import domain, store
from services.activity.config import ActivitySettings
from services.activity.handlers import (
    OUTCOME_HANDLERS,
    QUERY_HANDLERS,
    SEAT_EVENT_HANDLERS,
    TEAM_EVENT_HANDLERS,
    USER_EVENT_HANDLERS,
)
from services.activity.schema import SCHEMA

PURGE_EVERY_SECONDS = 10.0


def _oldest_entry_age(session: Session) -> float:
    return seconds_since(store.oldest_entry(session))


def definition(settings: ActivitySettings) -> ServiceDefinition:
    def purge(session: Session, now: datetime) -> int:
        cutoff = domain.retention_cutoff(now, retention_days=settings.retention_days)
        return store.purge(session, before=cutoff, batch=settings.purge_batch)

    listens = {
        USERS_EVENTS: USER_EVENT_HANDLERS,
        TEAMS_EVENTS: TEAM_EVENT_HANDLERS,
        SEATS_EVENTS: SEAT_EVENT_HANDLERS,
        GATEWAY_OUTCOMES: OUTCOME_HANDLERS,
    }
    return ServiceDefinition(
        name="activity",
        schema=SCHEMA,
        subscriptions={},
        queries={ACTIVITY_QUERIES: QUERY_HANDLERS},
        owned_topics=(ACTIVITY_QUERIES,),
        listens=listens,
        # Only recording: many entries to a transaction (docs/architecture.md, "Batches").
        batched=frozenset(listens),
        batch_max_records=settings.batch_max_records,
        batch_wait_ms=settings.batch_wait_ms,
        periodic=(Periodic("purge activity past its retention", PURGE_EVERY_SECONDS, purge),),
        gauges=(
            DatabaseGauge(
                "roster_activity_oldest_entry_age_seconds",
                "Age of the oldest activity entry: above the retention, the purge is behind.",
                _oldest_entry_age,
            ),
        ),
    )


DEFINITION = definition(
    ActivitySettings.model_construct(
        retention_days=30, purge_batch=5000, batch_max_records=200, batch_wait_ms=200
    )
)
"""The wiring as the contracts tests read it (topics and handlers do not depend on the settings)."""


def main() -> None:
    check_arguments("activity", sys.argv[1:])  # before the settings: a typo or --help needs none
    settings = ActivitySettings()
    run_process(definition(settings), settings, sys.argv[1:])


if __name__ == "__main__":
    main()
