"""Two service instances at once (two processors, one database): names stay unique and member
counts exact. On PostgreSQL this exercises the tenant lock and the team row lock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlmodel import Session

from contracts.envelope import Message
from contracts.replies import CommandRejected
from contracts.teams import PatchGroup, PushGroup, ReplaceGroup, TeamReply
from services.teams import store
from services.teams.tests.conftest import TeamsHarness
from services.teams.tests.group_helpers import add, members, new_id, push, team_row, team_rows


def _send_until_settled(teams: TeamsHarness, message: Message) -> Message:
    """As the consumer would: a failed attempt (lock timeout, deadlock) is delivered again."""
    envelope = teams.envelope(message)
    for _ in range(5):
        try:
            teams.deliver(envelope)
            break
        except Exception:  # redelivered, as Kafka would
            continue
    return teams.reply_to(envelope)


def _in_parallel(instances: list[TeamsHarness], messages: list[Message]) -> list[Message]:
    with ThreadPoolExecutor(max_workers=len(instances)) as pool:
        futures = [
            pool.submit(_send_until_settled, instances[n % len(instances)], message)
            for n, message in enumerate(messages)
        ]
        return [future.result() for future in futures]


def test_concurrent_pushes_of_one_name_make_one_team(teams: TeamsHarness) -> None:
    instances = [teams, TeamsHarness(teams.engine), TeamsHarness(teams.engine), TeamsHarness(teams.engine)]
    pushes: list[Message] = [
        PushGroup(team_id=new_id(), display_name="Race" if n % 2 else "RACE") for n in range(8)
    ]
    replies = _in_parallel(instances, pushes)
    assert sum(isinstance(reply, TeamReply) for reply in replies) == 1
    assert sum(isinstance(reply, CommandRejected) for reply in replies) == 7
    assert len(team_rows(teams)) == 1


def test_concurrent_membership_changes_keep_the_count_exact(teams: TeamsHarness) -> None:
    team = push(teams, "Everyone", "u0")
    instances = [teams, TeamsHarness(teams.engine), TeamsHarness(teams.engine)]
    patches: list[Message] = [
        PatchGroup(team_id=team.id, rename_to="Everyone", changes=(add(f"u{n}", "u0"),)) for n in range(1, 31)
    ]
    patches.append(ReplaceGroup(team_id=team.id, display_name="Everyone!", member_ids=("u0", "u1")))
    replies = _in_parallel(instances, patches)
    assert all(isinstance(reply, TeamReply) for reply in replies)
    stored = members(teams, team.id)
    assert team_row(teams, team.id).member_count == len(stored)
    assert {"u0", "u1"} <= stored
    with Session(teams.engine) as session:
        assert store.all_member_ids(session, team_seq=team_row(teams, team.id).seq or 0) == stored
