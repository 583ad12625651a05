"""What roster-admin prints for people: team tables, the seat drift report, names shown as typed."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from rich.console import Console
from rich.table import Table

from roster_cli import output
from roster_cli.activity import entries_table
from roster_cli.models import ActivityEntry, SeatDrift, Team, TeamMember, TeamSource
from roster_cli.output import Output, add_row, table
from roster_cli.seats import drift_report
from roster_cli.teams import team_table


def _team(**overrides: object) -> Team:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    fields: dict[str, object] = {
        "id": "t1",
        "display_name": "Sales West",
        "source": TeamSource.MANAGER,
        "linked": False,
        "leader_id": "m1",
        "member_count": 2,
        "members": [TeamMember(user_id="u1", display="ann@example.com"), TeamMember(user_id="u2")],
        "created": now,
        "last_modified": now,
        "version": 1,
    }
    return Team.model_validate({**fields, **overrides})


def _rendered_items(*items: str | Table) -> list[str]:
    screen = io.StringIO()
    console = Console(file=screen, width=120)
    for item in items:
        console.print(item)
    return [" ".join(line.split()) for line in screen.getvalue().splitlines()]


def _rendered(teams: list[Team]) -> list[str]:
    return _rendered_items(team_table(teams))


def test_piped_a_team_row_holds_its_members_on_its_one_line() -> None:
    """For ``grep <team id>`` and ``awk``: the MEMBERS cell is the count, then each member."""
    assert _rendered([_team()])[1:] == ["t1 Sales West manager not linked m1 2, u1 ann@example.com, u2"]


def test_a_team_row_shows_id_name_source_link_leader_and_each_member(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "on_a_terminal", lambda: True)  # stacked, one member a line
    header, team, *members = _rendered([_team()])
    assert header.split() == ["ID", "NAME", "SOURCE", "LINKED", "LEADER", "MEMBERS"]
    assert team.split() == ["t1", "Sales", "West", "manager", "not", "linked", "m1", "2"]
    assert [line.split() for line in members] == [["u1", "ann@example.com"], ["u2"]]
    linked = _team(source=TeamSource.SCIM, linked=True, leader_id=None, members=None, member_count=0)
    assert _rendered([linked])[1].split() == ["t1", "Sales", "West", "scim", "linked", "-", "0"]


def test_seat_drift_names_each_user_and_what_to_do() -> None:
    clean = SeatDrift(seats_without_active_user=[], active_users_without_seat=[])
    assert _rendered_items(*drift_report(clean)) == ["no drift: every active user holds exactly one seat"]
    drifted = SeatDrift(
        seats_without_active_user=["u1"], active_users_without_seat=["u2"], waiting_for_seat=["u3"]
    )
    assert _rendered_items(*drift_report(drifted)) == [
        "DRIFT USER",
        "seat without an active user u1",
        "active user without a seat u2",
        "waiting for a seat (not drift) u3",
        "run again with --repair to fix",
        "the numbers settle once no create or reactivation waits for the seats service",
    ]
    repaired = drifted.model_copy(update={"repair_requested": True, "waiting_for_seat": []})
    assert _rendered_items(*drift_report(repaired))[-1] == "repair requested; run reconcile again to confirm"
    out_of_step = clean.model_copy(update={"set_aside": 9, "allowance_unspent": 4})
    assert _rendered_items(*drift_report(out_of_step)) == [
        "allowance out of step: 9 set aside by the seats service, 4 held by the users service",
        "run again with --repair to fix",
    ]
    settling = clean.model_copy(update={"waiting_for_seat": ["u3"]})
    assert _rendered_items(*drift_report(settling)) == [
        "no drift: every active user holds exactly one seat",
        "DRIFT USER",
        "waiting for a seat (not drift) u3",
        "the numbers settle once no create or reactivation waits for the seats service",
    ]


def test_names_are_shown_as_typed_not_as_rich_markup() -> None:
    assert "[bold]Sales[/bold]" in _rendered([_team(display_name="[bold]Sales[/bold]")])[1]


def test_activity_shows_the_ids_to_follow_a_request_only_when_asked() -> None:
    entry = ActivityEntry(
        entry_id="e1",
        occurred_at=datetime(2026, 12, 4, 9, 30, tzinfo=UTC),
        kind="request",
        outcome="refused",
        summary="POST User",
        status=409,
        detail="userName taken",
        correlation_id="corr-7f3a",
        request_id="req-91bc",
    )
    plain = "\n".join(_rendered_items(entries_table([entry])))
    wide = "\n".join(_rendered_items(entries_table([entry], ids=True)))
    assert "POST User" in plain and "req-91bc" not in plain and "corr-7f3a" not in plain
    assert "REQUEST ID" in wide and "req-91bc" in wide and "corr-7f3a" in wide


def test_a_table_piped_keeps_each_row_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Not a terminal (a pipe, a file): rows wider than 80 columns are not folded, so ids survive grep."""
    ids = [f"{i}" * 8 + "-aaaa-bbbb-cccc-" + "d" * 12 for i in range(4)]
    grid = table("A", "B", "C", "D")
    add_row(grid, *ids)
    Output(as_json=False).show({}, grid)
    _header, row = capsys.readouterr().out.splitlines()
    assert row.split() == ids and len(row) > 80
