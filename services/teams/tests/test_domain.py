"""The pure team rules: names, create-or-link, one-way sync, membership deltas."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.rejections import RejectionReason
from contracts.teams import MembershipChange, MembershipOp
from services.teams import domain, manager_teams


@dataclass(frozen=True)
class Team:
    id: str
    display_name: str
    source: str = "portal"
    linked: bool = False
    version: int = 1


def test_name_key_is_scim2_models_comparison_key() -> None:
    from scim2_models import Group, Path

    binding = Path[Group]("displayName").resolve()
    assert binding is not None
    for name in ("Sales West", "SALES WEST", "Cafe\u0301", "İstanbul", "ß"):
        assert domain.name_key(name) == binding.comparable(name)
    assert domain.name_key("Café") == domain.name_key("CAFE\u0301")


def test_push_target_creates_links_or_clashes() -> None:
    assert domain.push_target("Sales", []) is None
    portal = Team("t1", "sales")
    assert domain.push_target("Sales", [portal]) is portal
    with pytest.raises(domain.TeamNameClash) as clash:
        domain.push_target("Sales", [portal, Team("t2", "SALES")])
    assert "t1" in clash.value.detail and "t2" in clash.value.detail
    for holder in (Team("t3", "Sales", source="scim", linked=True), Team("t4", "Sales", linked=True)):
        with pytest.raises(domain.TeamNameClash) as taken:
            domain.push_target("sales", [portal, holder])
        assert holder.id in taken.value.detail
        assert taken.value.reason == RejectionReason.TEAM_NAME_CLASH


def test_a_name_is_free_unless_another_linked_team_holds_it() -> None:
    linked = Team("t1", "Sales", linked=True)
    domain.ensure_name_free("sales", [linked], team_id="t1")
    domain.ensure_name_free("sales", [Team("t2", "Sales")], team_id=None)
    with pytest.raises(domain.TeamNameClash):
        domain.ensure_name_free("sales", [linked], team_id="t2")


def test_portal_edits_are_refused_where_another_source_owns_the_team() -> None:
    domain.ensure_portal_editable(Team("t1", "Sales"))
    with pytest.raises(domain.ManagedElsewhere) as idp:
        domain.ensure_portal_editable(Team("t1", "Sales West", linked=True))
    assert idp.value.detail == (
        'Team "Sales West" is managed in your identity provider (SCIM): change it there.'
    )
    with pytest.raises(domain.ManagedElsewhere) as derived:
        domain.ensure_portal_editable(Team("t1", "Ann's team", source="manager"))
    assert "manager relation" in derived.value.detail


def test_blank_names_and_ids_are_refused() -> None:
    domain.check_display_name("ü" * domain.MAX_NAME_LENGTH)
    for name in ("", "  ", "\u200b", "\ufeff\u2060", "a\x00b", "x" * (domain.MAX_NAME_LENGTH + 1)):
        with pytest.raises(domain.InvalidTeam):
            domain.check_display_name(name)
    with pytest.raises(domain.InvalidTeam):
        domain.check_member_ids(["u1", " "])


def test_version_check() -> None:
    domain.check_version(Team("t1", "x", version=3), None)
    domain.check_version(Team("t1", "x", version=3), 3)
    with pytest.raises(domain.VersionMismatch):
        domain.check_version(Team("t1", "x", version=3), 2)


def _ops(*pairs: tuple[MembershipOp, tuple[str, ...]]) -> list[MembershipChange]:
    return [MembershipChange(op=op, user_ids=ids) for op, ids in pairs]


def test_add_then_remove_of_the_same_id_ends_absent() -> None:
    plan = domain.plan_membership(_ops((MembershipOp.ADD, ("u1", "u2")), (MembershipOp.REMOVE, ("u1",))))
    assert plan.touched == {"u2": True, "u1": False}
    assert domain.membership_delta(plan, current={"u1"}) == (["u2"], ["u1"])
    gone = domain.plan_membership(_ops((MembershipOp.ADD, ("u1", "u2"))), gone={"u2"})
    assert domain.membership_delta(gone, current=set()) == (["u1"], [])


USERS = st.sampled_from([f"u{n}" for n in range(6)])
CHANGES = st.lists(
    st.builds(
        MembershipChange,
        op=st.sampled_from(list(MembershipOp)),
        user_ids=st.lists(USERS, max_size=4).map(tuple),
    ),
    max_size=5,
)


@settings(derandomize=True, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(current=st.sets(USERS), changes=CHANGES, gone=st.sets(USERS, max_size=2))
def test_the_delta_is_what_applying_the_operations_in_order_would_do(
    current: set[str], changes: list[MembershipChange], gone: set[str]
) -> None:
    expected = set(current)
    for change in changes:  # the operations one by one, a deleted user never joining
        joining = {user_id for user_id in change.user_ids if user_id not in gone}
        if change.op == MembershipOp.REPLACE:
            expected = joining
        elif change.op == MembershipOp.ADD:
            expected |= joining
        else:
            expected -= set(change.user_ids)
    assert set(domain.ids_added(changes)) >= {
        u for c in changes if c.op != MembershipOp.REMOVE for u in c.user_ids
    }
    plan = domain.plan_membership(changes, gone=gone)
    seen = current if plan.replace_with is not None else current & set(plan.touched)
    added, removed = domain.membership_delta(plan, current=seen)
    assert len(added) == len(set(added)) and len(removed) == len(set(removed))
    assert not set(added) & current and set(removed) <= current
    assert (current | set(added)) - set(removed) == expected


def test_a_manager_team_name_is_cut_to_the_longest_team_name() -> None:
    name = manager_teams.team_name(leader_id="u1", display_name="ü" * 3000, user_name=None)
    assert name == "ü" * (domain.MAX_NAME_LENGTH - len("'s team")) + "'s team"
    domain.check_display_name(name)
