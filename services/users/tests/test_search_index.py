"""The search index's upkeep in the users service's database (SQLite and PostgreSQL): it follows
replaces and deletes, Okta's ``userName eq`` lookup answered from the users table's key agrees with it,
and users stored before the index existed, or indexed by another version, are (re)indexed.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, func, update
from sqlmodel import Session, select

from contracts.rejections import RejectionReason
from contracts.replies import Deleted
from contracts.users import DeleteUser, ReplaceUser, UserReply
from services.users.attributes import INDEX_VERSION
from services.users.backfills import refresh_search_index
from services.users.search_index import SearchIndexState, UserAttributeRow
from services.users.tests.conftest import UsersHarness
from services.users.tests.search_helpers import create_user, found_names, okta_user, refusal_of, search_page


def test_index_follows_replace_and_delete(harness: UsersHarness) -> None:
    user = create_user(harness, okta_user("dan@example.com"))
    changed = user.profile.model_copy(
        update={"user_name": "daniel@example.com", "emails": (), "enterprise": None, "active": False}
    )
    assert isinstance(harness.ask(ReplaceUser(user_id=user.id, profile=changed)), UserReply)
    assert found_names(harness, 'userName eq "dan@example.com"') == []
    assert found_names(harness, 'userName eq "daniel@example.com"') == ["daniel@example.com"]
    assert found_names(harness, 'emails.value eq "dan@example.com" or emails pr') == []
    assert found_names(harness, 'meta.version eq "W/\\"2\\"" and active eq false') == ["daniel@example.com"]
    assert isinstance(harness.ask(DeleteUser(user_id=user.id)), Deleted)
    assert found_names(harness, f'id eq "{user.id}"') == []
    with Session(harness.engine) as session:
        assert session.exec(select(func.count()).select_from(UserAttributeRow)).one() == 0


def test_okta_lookup_by_user_name_answers_as_the_general_path(harness: UsersHarness) -> None:
    """``userName eq "…"`` alone is answered from the users table's key (``store.users_named``); the
    same filter with a term that changes nothing takes the search index: the two agree."""
    long_name = "l" * 150 + "@example.com"  # longer than an index entry's head
    for name in ("Ann.Lee@Example.com", "Zoë.Åberg@Example.com", "J\u030cohn@example.com", long_name):
        create_user(harness, okta_user(name))
    create_user(harness, okta_user("idle@example.com", active=False))
    gone = create_user(harness, okta_user("gone@example.com"))
    assert isinstance(harness.ask(DeleteUser(user_id=gone.id)), Deleted)
    create_user(harness, okta_user("elsewhere@example.com"), tenant="globex")
    operands = (
        *(
            "ANN.LEE@example.com",
            "zoe\u0308.a\u030aberg@EXAMPLE.COM",
            "\u01f0ohn@example.com",
            long_name.upper(),
        ),
        *("idle@example.com", "gone@example.com", "elsewhere@example.com", "nobody@example.com"),
    )
    for attribute in ("userName", "USERNAME", "urn:ietf:params:scim:schemas:core:2.0:User:userName"):
        for operand in operands:
            for start_index, count in ((1, 100), (2, 100), (1, 0)):
                paging = {"start_index": start_index, "count": count}
                alone = search_page(harness, "acme", filter=f'{attribute} eq "{operand}"', **paging)
                general = search_page(
                    harness, "acme", filter=f'{attribute} eq "{operand}" and id pr', **paging
                )
                assert (alone.total_results, alone.users) == (general.total_results, general.users), operand
    assert found_names(harness, 'userName eq "\u01f0ohn@example.com"') == ["J\u030cohn@example.com"]
    assert found_names(harness, 'userName eq "idle@example.com"') == ["idle@example.com"]
    with Session(harness.engine) as session, session.begin():
        session.execute(delete(UserAttributeRow))  # the general path finds nobody now …
    assert found_names(harness, 'userName eq "ann.lee@example.com"') == [
        "Ann.Lee@Example.com"
    ]  # … this one does
    # The table's key is the filters' key for every name, not only for ASCII ones.
    assert found_names(harness, 'userName eq "\u01f0ohn@example.com"') == ["J\u030cohn@example.com"]
    assert found_names(harness, 'userName eq "ZOE\u0308.\u00c5BERG@example.com"') == ["Zoë.Åberg@Example.com"]
    assert found_names(harness, 'userName eq "ann.lee@example.com" and id pr') == []
    refusal_of(
        harness, RejectionReason.INVALID_VALUE, filter='userName eq "ann.lee@example.com"', sort_by="ims"
    )


# Users stored before the index existed


def test_backfill_indexes_users_stored_before_the_index(harness: UsersHarness, users_engine: Engine) -> None:
    create_user(harness, okta_user("old@example.com"))
    create_user(harness, okta_user("older@example.com"))
    with Session(users_engine) as session, session.begin():
        session.execute(delete(UserAttributeRow))
    assert found_names(harness, 'userName sw "old"') == []
    assert refresh_search_index(users_engine) == 2
    assert found_names(harness, 'userName sw "old"') == ["old@example.com", "older@example.com"]
    assert refresh_search_index(users_engine) == 0


def test_an_index_written_by_another_version_is_rebuilt(harness: UsersHarness, users_engine: Engine) -> None:
    user = create_user(harness, okta_user("stale@example.com"))
    assert refresh_search_index(users_engine) == 0  # the migration recorded this code's version
    with Session(users_engine) as session, session.begin():
        session.execute(update(UserAttributeRow).values(value_key="stale"))
        state = session.get(SearchIndexState, 1)
        assert state is not None and state.version == INDEX_VERSION
        state.version = INDEX_VERSION - 1
    assert found_names(harness, 'userName sw "stale@"') == []
    # Okta's lookup is answered from the users table's own key, which no index version touches.
    assert found_names(harness, 'userName eq "stale@example.com"') == ["stale@example.com"]
    assert refresh_search_index(users_engine) == 1
    assert found_names(harness, 'userName sw "stale@"') == ["stale@example.com"]
    assert found_names(harness, f'userName eq "stale@example.com" and id eq "{user.id}"') == [
        "stale@example.com"
    ]
