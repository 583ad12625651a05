"""A manager's first event and a report's, handled at once by two instances (PostgreSQL): whichever
commits first, the manager team ends up named after its manager, not "Team of manager <id>"."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session, select

from contracts.envelope import Message, wrap
from contracts.users import UserCreated
from services.teams import replica
from services.teams.store import TeamRow
from services.teams.tests.conftest import TeamsHarness
from services.teams.tests.replica_helpers import record

LEADER = UserCreated(user=record("lea", name="Lea"))
REPORT = UserCreated(user=record("rob", manager_id="lea"))


def _team_name(teams: TeamsHarness) -> str:
    with Session(teams.engine) as session:
        return session.exec(select(TeamRow.display_name).where(TeamRow.leader_id == "lea")).one()


def _while_open(teams: TeamsHarness, held: UserCreated, other: Message, other_user: str) -> None:
    """``held`` handled in a transaction left open while ``other`` is delivered (another instance):
    ``other`` must wait for it, then finish once it commits."""
    with Session(teams.engine) as session, session.begin():
        replica.user_created(session, wrap(held, tenant="acme", producer="users"), held)
        with ThreadPoolExecutor(max_workers=1) as pool:
            delivered = pool.submit(teams.user_event, other, user_id=other_user)
            time.sleep(0.5)
            assert not delivered.done()  # it waits for the open transaction …
            session.commit()
            delivered.result(timeout=10)  # … and then sees what it wrote


@pytest.fixture
def on_postgresql(teams: TeamsHarness) -> TeamsHarness:
    if teams.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the two cannot overlap")
    return teams


def test_a_team_made_while_its_managers_first_event_commits_is_named_after_them(
    on_postgresql: TeamsHarness,
) -> None:
    _while_open(on_postgresql, LEADER, REPORT, "rob")
    assert _team_name(on_postgresql) == "Lea's team"


def test_a_managers_first_event_while_their_team_is_being_made_renames_it(
    on_postgresql: TeamsHarness,
) -> None:
    _while_open(on_postgresql, REPORT, LEADER, "lea")
    assert _team_name(on_postgresql) == "Lea's team"
