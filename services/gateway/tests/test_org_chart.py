from __future__ import annotations

from contracts.users import RosterRole
from services.gateway.admin.org_chart import org_chart
from services.gateway.admin.people_models import AdminUser, OrgNode


def _person(user_id: str, manager_id: str | None) -> AdminUser:
    return AdminUser(
        id=user_id,
        user_name=f"{user_id}@example.com",
        display_name=None,
        active=True,
        role=RosterRole.LEARNER,
        title=None,
        manager_id=manager_id,
        manager=None,
    )


def _shape(nodes: list[OrgNode]) -> list[object]:
    return [(node.user.id, _shape(node.reports)) for node in nodes]


def test_reports_sit_under_their_manager_in_the_order_given() -> None:
    people = [_person("ceo", None), _person("vp", "ceo"), _person("ae1", "vp"), _person("ae2", "vp")]
    assert _shape(org_chart(people)) == [("ceo", [("vp", [("ae1", []), ("ae2", [])])])]


def test_a_manager_not_among_the_users_makes_a_root() -> None:
    people = [_person("a", "gone"), _person("b", "a"), _person("c", None)]
    assert _shape(org_chart(people)) == [("a", [("b", [])]), ("c", [])]


def test_a_cycle_is_drawn_once_from_its_earliest_member() -> None:
    people = [_person("root", None), _person("x", "y"), _person("y", "x"), _person("self", "self")]
    assert _shape(org_chart(people)) == [("root", []), ("self", []), ("x", [("y", [])])]


def test_users_below_a_cycle_hang_from_it() -> None:
    # The default manager's own manager may be a report of theirs: Vera → Carl (default) → Vera.
    people = [
        _person("anna", "vera"),
        _person("carl", "vera"),
        _person("ned", "carl"),
        _person("vera", "carl"),
    ]
    assert _shape(org_chart(people)) == [("vera", [("anna", []), ("carl", [("ned", [])])])]
