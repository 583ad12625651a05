"""Versions as entity tags (RFC 7644 §3.14): ``W/"<version>"``; If-Match and If-None-Match."""

from __future__ import annotations

from contracts.users import UserRecord

ANY = "*"


def etag(record: UserRecord) -> str:
    return f'W/"{record.version}"'


def versions_in(header: str | None) -> set[int] | None:
    """The versions an If-Match / If-None-Match header names; ``None`` for absent or ``*``.

    Weak and strong forms compare alike here (RFC 7232 §2.3.2 weak comparison). A tag that is not
    one of ours can never match, so it contributes nothing.
    """
    if header is None or header.strip() == ANY:
        return None
    versions: set[int] = set()
    for tag in header.split(","):
        opaque = tag.strip().removeprefix("W/").strip('"')
        if opaque.isdigit():
            versions.add(int(opaque))
    return versions


def none_match(header: str | None, record: UserRecord) -> bool:
    """True when If-None-Match names the current version (or is ``*``): answer 304."""
    if header is None:
        return False
    versions = versions_in(header)
    return versions is None or record.version in versions
