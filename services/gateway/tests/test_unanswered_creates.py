"""Creates answered 503, remembered so the same POST sent again gets the user it made (pure)."""

from __future__ import annotations

from contracts.users import UserProfile
from services.gateway import unanswered_creates
from services.gateway.unanswered_creates import KEEP_SECONDS, UnansweredCreates


def test_the_same_profile_in_the_same_tenant_finds_the_id_its_first_attempt_was_given() -> None:
    now = [0.0]
    creates = UnansweredCreates(clock=lambda: now[0])
    ann = UserProfile(user_name="ann@example.com")
    creates.remember("acme", ann, "u1")
    assert creates.earlier_id("acme", ann) == "u1"
    assert creates.earlier_id("other", ann) is None
    assert creates.earlier_id("acme", ann.model_copy(update={"title": "VP"})) is None  # another body
    now[0] = KEEP_SECONDS + 1
    assert creates.earlier_id("acme", ann) is None


def test_the_oldest_are_forgotten_beyond_the_bound() -> None:
    creates = UnansweredCreates()
    most = unanswered_creates.MOST_REMEMBERED
    for i in range(most + 1):
        creates.remember("acme", UserProfile(user_name=f"u{i}@example.com"), f"id{i}")
    assert creates.earlier_id("acme", UserProfile(user_name="u0@example.com")) is None
    assert creates.earlier_id("acme", UserProfile(user_name=f"u{most}@example.com")) == f"id{most}"
