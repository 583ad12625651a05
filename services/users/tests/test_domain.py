"""Pure rules: no database, no broker."""

from datetime import UTC, datetime

import pytest

from contracts.users import UserProfile
from services.users import domain
from services.users.migrations.v0004_user_name_key import key_since_0004


@pytest.mark.parametrize(
    "name",
    [
        "Ann@Example.COM",
        "Straße",
        "STRASSE",
        " padded ",
        "I\u0307stanbul",
        "e\u0301",
        "É",
        "J\u030cohn",
        "T\u0308om",
        "\u1e96ans",
    ],
)
def test_user_name_key_is_the_key_stored_since_revision_0004(name: str) -> None:
    """The key revision 0004 wrote is spelt out in the migration; were scim2-models' comparison key
    (which ``user_name_key`` is) to change, stored keys would need a migration of their own."""
    assert domain.user_name_key(name) == key_since_0004(name)
    assert (
        domain.user_name_key("Ann@Example.COM")
        == domain.user_name_key("ann@example.com")
        == "ann@example.com"
    )
    assert domain.user_name_key("Stra\u00dfe\x00") == "stra\u00dfe\ufffd"  # NUL: PostgreSQL text has none
    # Lower-casing a decomposed capital with no precomposed form gives a sequence NFC composes.
    assert domain.user_name_key("J\u030cohn") == domain.user_name_key("\u01f0ohn") == "\u01f0ohn"


def test_a_user_name_held_by_someone_else_is_taken() -> None:
    with pytest.raises(domain.UserNameTaken) as caught:
        domain.ensure_user_name_free("Ann", holder_id="other", user_id="me")
    assert '"Ann"' in caught.value.detail
    assert caught.value.reason == "user_name_taken"


def test_a_user_name_held_by_the_same_user_or_nobody_is_free() -> None:
    domain.ensure_user_name_free("Ann", holder_id=None, user_id="me")
    domain.ensure_user_name_free("Ann", holder_id="me", user_id="me")


def test_new_user_starts_at_version_one_with_equal_timestamps() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    user = domain.new_user(user_id="u1", profile=UserProfile(user_name="ann"), now=now)
    assert (user.version, user.created, user.last_modified) == (1, now, now)


@pytest.mark.parametrize("blank", ["   ", "\u200b", "\ufeff", "\u00a0\u3000", "\u200d\u3164"])
def test_blank_user_name_is_invalid(blank: str) -> None:
    """White space alone, or invisible characters (zero-width space, BOM, joiner, Hangul filler)."""
    with pytest.raises(domain.InvalidUser, match="must not be blank"):
        domain.new_user(user_id="u1", profile=UserProfile(user_name=blank), now=datetime.now(UTC))


def test_user_names_and_external_ids_longer_than_an_index_entry_are_invalid() -> None:
    longest = "ü" * domain.MAX_KEY_LENGTH
    domain.check_profile(UserProfile(user_name=longest, external_id=longest))
    for profile, name in (
        (UserProfile(user_name=longest + "x"), "userName"),
        (UserProfile(user_name="a", external_id=longest + "x"), "externalId"),
    ):
        with pytest.raises(domain.InvalidUser) as refused:
            domain.check_profile(profile)
        assert refused.value.detail == f"{name} is longer than 512 characters."


def test_an_undone_change_says_what_became_of_the_user() -> None:
    assert "the user was not created, and no seat is held" in domain.could_not_finish(creating=True)
    assert "the user was left inactive, and no seat is held" in domain.could_not_finish(creating=False)
