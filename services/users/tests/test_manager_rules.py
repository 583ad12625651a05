"""The pure manager rules: resolution, the default manager, who may be chosen as default."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.rejections import RejectionReason
from contracts.users import ContactValue, EnterpriseInfo, ManagerVia, RosterRole, UserProfile, UserRecord
from services.users import manager_rules
from services.users.manager_rules import InvalidDefaultManager, Match, MatchedBy, Resolution

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def user(user_id: str, *, role: RosterRole | None = None, **fields: object) -> UserRecord:
    profile = UserProfile.model_validate({"user_name": f"{user_id}@x.com", "roster_role": role, **fields})
    return UserRecord(id=user_id, profile=profile, created=NOW, last_modified=NOW, version=1)


def match(user_id: str, seq: int, by: MatchedBy, *, active: bool = True) -> Match:
    return Match(user_id=user_id, seq=seq, matched_by=by, active=active)


def test_pick_prefers_the_identifier_priority_then_the_earliest_user_and_never_oneself() -> None:
    found = [
        match("email-early", 1, MatchedBy.EMAIL),
        match("name-late", 9, MatchedBy.USER_NAME),
        match("name-early", 5, MatchedBy.USER_NAME),
        match("me", 0, MatchedBy.ID),
    ]
    assert manager_rules.pick(found, user_id="me") == found[2]
    assert manager_rules.pick([found[3]], user_id="me") is None
    assert manager_rules.pick([], user_id="me") is None


def test_an_active_designated_user_is_the_manager_else_the_default_else_nobody() -> None:
    active, inactive = match("boss", 1, MatchedBy.ID), match("boss", 1, MatchedBy.ID, active=False)
    assert manager_rules.resolve("r", designated=active, default_id="d") == Resolution(
        "boss", ManagerVia.REFERENCE
    )
    assert manager_rules.resolve("r", designated=inactive, default_id="d") == Resolution(
        "d", ManagerVia.DEFAULT
    )
    assert manager_rules.resolve("r", designated=None, default_id="d") == Resolution("d", ManagerVia.DEFAULT)
    assert manager_rules.resolve("r", designated=None, default_id=None) == Resolution(None, ManagerVia.NONE)
    assert manager_rules.resolve("d", designated=None, default_id="d") == Resolution(None, ManagerVia.NONE)


def test_the_effective_default_is_the_usable_choice_else_the_usable_first_coach() -> None:
    rule = manager_rules.effective_default
    assert rule(chosen_id="m", first_coach_id="c", usable={"m", "c"}) == "m"
    assert rule(chosen_id="m", first_coach_id="c", usable={"c"}) == "c"
    assert rule(chosen_id=None, first_coach_id="c", usable={"c"}) == "c"
    assert rule(chosen_id="m", first_coach_id="c", usable=set()) is None
    assert rule(chosen_id=None, first_coach_id=None, usable=set()) is None


def test_the_first_coach_is_sticky_until_deleted() -> None:
    after = manager_rules.first_coach_after
    assert after(None, user_id="c1", written=user("c1", role=RosterRole.COACH)) == "c1"
    assert after(None, user_id="l", written=user("l")) is None
    assert after("c1", user_id="c2", written=user("c2", role=RosterRole.COACH)) == "c1"
    assert after("c1", user_id="c1", written=user("c1")) == "c1"  # demoted, still the first ever added
    assert after("c1", user_id="c1", written=None) is None
    assert after("c1", user_id="other", written=None) == "c1"
    scim_role = user("s", roles=[{"value": "Coach", "primary": True}])
    assert after(None, user_id="s", written=scim_role) == "s"


def test_the_admins_choice_outlives_a_deactivation_not_a_deletion() -> None:
    after = manager_rules.choice_after
    assert after("m", user_id="m", written=user("m", active=False)) == "m"
    assert after("m", user_id="m", written=None) is None
    assert after("m", user_id="other", written=None) == "m"
    assert after(None, user_id="m", written=None) is None


@pytest.mark.parametrize("role", [None, RosterRole.LEARNER, RosterRole.COACH])
def test_a_default_manager_below_the_manager_role_is_refused_with_a_clear_detail(
    role: RosterRole | None,
) -> None:
    with pytest.raises(InvalidDefaultManager) as refused:
        manager_rules.ensure_can_be_default(user("ann", role=role))
    assert refused.value.reason == RejectionReason.INVALID_VALUE
    shown = (role or RosterRole.LEARNER).value
    assert refused.value.detail.startswith(
        f'User "ann" (ann@x.com) has role {shown}; the default manager must have role manager or admin.'
    )


@pytest.mark.parametrize("role", [RosterRole.MANAGER, RosterRole.ADMIN])
def test_managers_and_admins_may_be_the_default(role: RosterRole) -> None:
    manager_rules.ensure_can_be_default(user("ann", role=role))


def test_reference_keys_compare_ids_exactly_and_the_rest_case_insensitively() -> None:
    keys = manager_rules.reference_keys("Boss@X.com")
    assert keys is not None and (keys.exact, keys.folded) == ("Boss@X.com", "boss@x.com")
    assert manager_rules.reference_keys(None) is None
    assert manager_rules.reference_keys("  ") is None
    long = manager_rules.reference_keys("x" * 5000)
    assert long is not None and all(len(head) == 100 for head in long.heads)


def test_identifier_heads_cover_every_identifier_a_reference_may_name() -> None:
    record = user(
        "U-1",
        external_id="Ext-9",
        emails=[ContactValue(value="Work@X.com"), ContactValue(value=None)],
        enterprise=EnterpriseInfo(employee_number="E-7"),
    )
    exact, folded = manager_rules.identifier_heads(record)
    assert exact == {"U-1", "Ext-9"}
    assert folded == {"u-1@x.com", "work@x.com", "e-7"}


def test_an_active_match_wins_over_a_deactivated_better_one() -> None:
    # A rehire: the old account (deactivated, never deleted by Okta) keeps the employeeNumber.
    old = match("old", 1, MatchedBy.EMPLOYEE_NUMBER, active=False)
    new = match("new", 2, MatchedBy.EMAIL)
    assert manager_rules.pick([old, new], user_id="report") == new
    assert manager_rules.pick([old], user_id="report") == old  # alone, it still designates (→ default)
