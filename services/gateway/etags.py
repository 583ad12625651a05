"""Versions as entity tags (RFC 7644 §3.14): ``W/"<version>"``; If-Match and If-None-Match."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from services.gateway.errors import ScimProblem

ANY = "*"


class Versioned(Protocol):
    """A user or a team record: anything whose version is its entity tag."""

    @property
    def version(self) -> int: ...


def etag(record: Versioned) -> str:
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


def none_match(header: str | None, record: Versioned) -> bool:
    """True when If-None-Match names the current version (or is ``*``): answer 304."""
    if header is None:
        return False
    versions = versions_in(header)
    return versions is None or record.version in versions


def stale(resource: str, version: int) -> ScimProblem:
    """``resource`` as the client names it, e.g. ``User "<id>"``."""
    return ScimProblem(412, f"{resource} has changed (version {version}). Read it again and retry.")


async def expected_version(
    if_match: str | None, *, resource: str, read: Callable[[], Awaitable[Versioned]]
) -> int | None:
    """The version an If-Match header conditions a write on (RFC 7644 §3.14), or None. Several tags
    are checked against the current version (``read``), which the write is then conditioned on."""
    versions = versions_in(if_match)
    if versions is None:
        return None
    if len(versions) == 1:
        return next(iter(versions))
    current = await read()
    if current.version not in versions:
        raise stale(resource, current.version)
    return current.version
