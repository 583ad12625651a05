"""What the gateway makes of its owners' answers: list parameters passed on as given, big member checks
in bounded chunks, rejections as SCIM errors, an unexpected reply as a 500, and whole-tenant queries read
page by page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from scim2_models import SCIMException

from contracts import seats, teams, users
from contracts.listing import IDS_PER_PAGE
from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected
from services.gateway.http.errors import Refused
from services.gateway.owners import IDS_PER_CHECK, Owners
from services.gateway.tests.test_owners import PARAMETERS, PROFILE, TENANT, drain
from services.gateway.tests.wire import USER_PAGE, Wire


async def test_list_queries_carry_the_neutral_parameters_to_each_owner() -> None:
    wire = Wire()
    owners = Owners.over(wire)
    await owners.users.list(TENANT, PARAMETERS)
    await owners.teams.list_groups(TENANT, PARAMETERS, members=False)
    asked_users, asked_groups = (published.message for published in wire.published)
    assert asked_users == users.ListUsers(**PARAMETERS.model_dump())
    assert asked_groups == teams.ListGroups(**PARAMETERS.model_dump(), include_members=False)


async def test_a_large_member_check_is_asked_in_bounded_chunks_on_spread_keys() -> None:
    wire = Wire()
    ids = [str(i) for i in range(2 * IDS_PER_CHECK + 1)]
    assert await Owners.over(wire).users.known(TENANT, ids) == set(ids)
    asked = [published.message for published in wire.published]
    assert [len(m.user_ids) for m in asked if isinstance(m, users.FindUserIds)] == [
        IDS_PER_CHECK,
        IDS_PER_CHECK,
        1,
    ]
    assert len({published.key for published in wire.published}) == 3


async def test_a_rejection_is_the_scim_error_of_its_reason() -> None:
    rejection = CommandRejected(reason=RejectionReason.USER_NAME_TAKEN, detail="userName taken")
    wire = Wire(answer=lambda _message: rejection)
    with pytest.raises(Refused) as caught:
        await Owners.over(wire).users.write(TENANT, users.CreateUser(user_id="u1", profile=PROFILE))
    assert (caught.value.status, caught.value.scim_type, caught.value.detail) == (
        409,
        "uniqueness",
        "userName taken",
    )
    assert caught.value.reason == RejectionReason.USER_NAME_TAKEN


async def test_an_unexpected_reply_is_a_500() -> None:
    wire = Wire(answer=lambda _message: USER_PAGE)
    with pytest.raises(SCIMException) as caught:
        await Owners.over(wire).users.get(TENANT, "u1")
    assert caught.value.status == 500


def _paged_ids(total: int) -> Callable[[Any], Any]:
    """An owner holding ``total`` ids "000000"… that answers keyset pages as the services do."""
    ids = [f"{i:06d}" for i in range(total)]

    def answer(message: Any) -> Any:
        after = message.after or ""
        page = tuple(i for i in ids if i > after)[: message.limit]
        if isinstance(message, users.ListActiveUserIds):
            return users.UserIds(user_ids=page, in_flight=("w",) if message.after is None else ())
        if isinstance(message, seats.ListSeatHolders):
            return seats.SeatHolders(user_ids=page)
        return teams.TeamMembers(members=tuple(teams.TeamMember(user_id=i) for i in page))

    return answer


@pytest.mark.parametrize("total", [0, 1, IDS_PER_PAGE, 2 * IDS_PER_PAGE + 3])
async def test_whole_tenant_queries_are_asked_page_by_page_until_a_short_page(total: int) -> None:
    wire = Wire(answer=_paged_ids(total))
    owners = Owners.over(wire)
    active = await owners.users.active(TENANT)
    holders = await owners.seats.holders(TENANT)
    members = await drain(owners.teams.members(TENANT, "t1"))
    expected = tuple(f"{i:06d}" for i in range(total))
    assert active.user_ids == holders.user_ids == tuple(m.user_id for m in members) == expected
    assert active.in_flight == ("w",)
    pages = total // IDS_PER_PAGE + 1
    afters = [getattr(p.message, "after", None) for p in wire.published]
    assert len(wire.published) == 3 * pages
    assert afters[:pages] == [None, *(f"{n * IDS_PER_PAGE - 1:06d}" for n in range(1, pages))]
