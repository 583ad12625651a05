"""Creating users and reading them back through ``ListUsers``, as the search tests do: the users
service's handlers answer (``UsersHarness``), and a filter's matches are read as user names.

Shared by ``test_search.py``, ``test_search_index.py`` and ``test_search_sorting.py``.
"""

from __future__ import annotations

from uuid import uuid4

from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected
from contracts.users import (
    ContactValue,
    CreateUser,
    EnterpriseInfo,
    ListUsers,
    PersonName,
    UserPage,
    UserProfile,
    UserRecord,
    UserReply,
)
from services.users.tests.conftest import UsersHarness


def create_user(harness: UsersHarness, profile: UserProfile, *, tenant: str = "acme") -> UserRecord:
    reply = harness.ask(CreateUser(user_id=str(uuid4()), profile=profile), tenant=tenant)
    assert isinstance(reply, UserReply), reply
    return reply.user


def okta_user(user_name: str, **changes: object) -> UserProfile:
    profile = UserProfile(
        user_name=user_name,
        external_id=f"00u{user_name.split('@')[0]}",
        name=PersonName(given_name=user_name.split("@")[0].title(), family_name="Lee"),
        emails=(ContactValue(value=user_name, type="work", primary=True),),
        enterprise=EnterpriseInfo(department="Sales", manager_ref="boss@example.com"),
    )
    return profile.model_copy(update=changes)


def search_page(harness: UsersHarness, tenant: str = "acme", **query: object) -> UserPage:
    reply = harness.ask(ListUsers.model_validate(query), tenant=tenant)
    assert isinstance(reply, UserPage), reply
    return reply


def found_names(harness: UsersHarness, text: str, *, tenant: str = "acme") -> list[str]:
    page = search_page(harness, tenant, filter=text)
    assert page.total_results == len(page.users)
    return [user.profile.user_name for user in page.users]


def refusal_of(harness: UsersHarness, reason: RejectionReason, **query: object) -> str:
    reply = harness.ask(ListUsers.model_validate(query))
    assert isinstance(reply, CommandRejected), (query, reply)
    assert reply.reason == reason, reply
    return reply.detail
