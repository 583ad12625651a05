"""roster-admin's team and default-manager commands, as far as they work without a gateway."""

from __future__ import annotations

from typing import Any

import pytest

from services.gateway.cli import _parser, _team_lines, main


def _team(**overrides: Any) -> dict[str, Any]:
    team: dict[str, Any] = {
        "id": "t1",
        "display_name": "Sales West",
        "source": "manager",
        "linked": False,
        "leader_id": "m1",
        "member_count": 2,
        "members": [{"user_id": "u1", "display": "ann@example.com"}, {"user_id": "u2", "display": None}],
    }
    team.update(overrides)
    return team


def test_a_team_prints_its_id_name_source_link_leader_and_members() -> None:
    assert _team_lines(_team()) == [
        "t1\tSales West\tsource=manager\tnot-linked\tleader=m1\tmembers=2",
        "  member u1\tann@example.com",
        "  member u2",
    ]
    linked = _team(source="scim", linked=True, leader_id=None, members=None, member_count=0)
    assert _team_lines(linked) == ["t1\tSales West\tsource=scim\tlinked\tleader=-\tmembers=0"]


def test_member_options_take_one_or_many_ids_and_repeat() -> None:
    args = _parser().parse_args(
        ["team", "members", "ten", "t1", "--add", "a", "b", "--remove", "c", "--add", "d"]
    )
    assert (args.add, args.remove) == (["a", "b", "d"], ["c"])
    args = _parser().parse_args(["team", "create", "ten", "Sales", "--member", "a", "--member", "b"])
    assert (args.name, args.members) == ("Sales", ["a", "b"])
    assert _parser().parse_args(["default-manager", "clear", "ten"]).action == "clear"


def test_team_list_refuses_an_unknown_source(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["team", "list", "ten", "--source", "okta"])
    assert "invalid choice" in capsys.readouterr().err


def test_members_without_a_change_is_an_error_before_any_request(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--url", "http://127.0.0.1:9", "--token", "x" * 32, "team", "members", "ten", "t1"])
    err = capsys.readouterr().err
    assert status == 1 and "nothing to change" in err and err.count("\n") == 1
