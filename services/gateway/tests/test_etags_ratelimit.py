"""Entity tags and the per-tenant token bucket, purely."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scim2_models import PreconditionFailedException

from contracts.users import UserProfile, UserRecord
from services.gateway.http import etags
from services.gateway.http.ratelimit import TenantRateLimiter
from services.gateway.tests.clock import Clock

NOW = datetime(2026, 11, 22, tzinfo=UTC)
USER = UserRecord(id="u", profile=UserProfile(user_name="a"), created=NOW, last_modified=NOW, version=3)


def test_etag_is_weak_and_carries_the_version() -> None:
    assert etags.etag(USER) == 'W/"3"'


def test_if_match_headers_name_versions() -> None:
    assert etags.versions_in(None) is None
    assert etags.versions_in("*") is None
    assert etags.versions_in('W/"3"') == {3}
    assert etags.versions_in('"3"') == {3}
    assert etags.versions_in('W/"2", W/"5"') == {2, 5}
    assert etags.versions_in('"not-ours"') == set()
    assert etags.versions_in('W/"004", W/"03", "0"') == {0}  # compared as text: "004" is not "4"


def test_if_none_match() -> None:
    assert etags.none_match('W/"3"', USER)
    assert etags.none_match("*", USER)
    assert not etags.none_match('W/"2"', USER)
    assert not etags.none_match(None, USER)


async def test_a_write_is_conditioned_on_the_version_its_headers_were_checked_against() -> None:
    reads: list[str] = []

    async def read() -> UserRecord:
        reads.append("read")
        return USER

    async def expected(if_match: str | None, if_none_match: str | None) -> int | None:
        return await etags.expected_version(if_match, if_none_match, resource='User "u"', read=read)

    assert (await expected(None, None), await expected('W/"7"', None), reads) == (None, 7, [])
    refused = r'User "u" matches If-None-Match \(version 3\)'
    for header in ("*", 'W/"3"', 'W/"1", "3"'):
        with pytest.raises(PreconditionFailedException, match=refused):
            await expected(None, header)
    for other in ('W/"2"', '"not-ours"'):
        assert await expected(None, other) == 3  # checked, so conditioned on what was checked
    with pytest.raises(PreconditionFailedException, match=r"has changed \(version 3\)"):
        await expected('W/"2"', 'W/"3"')  # If-Match first (RFC 7232 §6)
    assert await expected('W/"3"', 'W/"2"') == 3
    assert len(reads) == 7  # once per conditional check, never twice


def test_token_bucket_allows_a_burst_then_the_rate_per_tenant() -> None:
    clock = Clock(0.0)
    limiter = TenantRateLimiter(per_second=2, burst=3, clock=clock)
    assert [limiter.retry_after("a") for _ in range(3)] == [None, None, None]
    assert limiter.retry_after("a") == 1
    assert limiter.retry_after("b") is None  # tenants do not share a bucket
    clock.now = 0.5  # one token refilled at 2/s
    assert limiter.retry_after("a") is None
    assert limiter.retry_after("a") == 1
    clock.now = 100
    assert [limiter.retry_after("a") for _ in range(4)] == [None, None, None, 1]  # never above burst


def test_retry_after_is_whole_seconds_for_slow_rates() -> None:
    limiter = TenantRateLimiter(per_second=0.1, burst=1, clock=Clock())
    assert limiter.retry_after("a") is None
    assert limiter.retry_after("a") == 10
