"""Versions as entity tags (RFC 7644 §3.14): ``W/"<version>"`` (contracts/rendering.py); If-Match and
If-None-Match on every method that names one resource (RFC 7232 §3.1, §3.2, evaluated in §6's order:
If-Match first)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Protocol

from fastapi import Header
from scim2_models import PreconditionFailedException

from contracts.rendering import version_tag

IfMatch = Annotated[str | None, Header()]
IfNoneMatch = Annotated[str | None, Header()]
ANY = "*"
_VERSION_DIGITS = 18  # a version is a 64-bit counter: a longer tag can never be one of ours


class Versioned(Protocol):
    """A user or a team record: anything whose version is its entity tag."""

    @property
    def version(self) -> int: ...


def etag(record: Versioned) -> str:
    return version_tag(record.version)


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
        # ASCII digits only: int() also reads other scripts' digits, and refuses "²" that isdigit() accepts.
        # Tags compare character by character (RFC 7232 §2.3.2): "004" is not the tag "4".
        if (
            opaque.isascii()
            and opaque.isdigit()
            and len(opaque) <= _VERSION_DIGITS
            and opaque == str(int(opaque))
        ):
            versions.add(int(opaque))
    return versions


def none_match(header: str | None, record: Versioned) -> bool:
    """True when If-None-Match names the current version (or is ``*``): a read is answered 304, a
    write refused (``require_none_match``)."""
    if header is None:
        return False
    versions = versions_in(header)
    return versions is None or record.version in versions


def stale(resource: str, version: int) -> PreconditionFailedException:
    """``resource`` as the client names it, e.g. ``User "<id>"``."""
    return PreconditionFailedException(
        detail=f"{resource} has changed (version {version}). Read it again and retry."
    )


def require_match(if_match: str | None, current: Versioned, *, resource: str) -> None:
    """412 unless If-Match (when given) names the current version."""
    allowed = versions_in(if_match)
    if allowed is not None and current.version not in allowed:
        raise stale(resource, current.version)


async def expected_version(
    if_match: str | None,
    if_none_match: str | None = None,
    *,
    resource: str,
    read: Callable[[], Awaitable[Versioned]],
) -> int | None:
    """The version a write is conditioned on (RFC 7644 §3.14), or None for an unconditional one. One
    If-Match tag is that version; several tags, or an If-None-Match, are checked against the current
    version (``read`` once; If-Match first, RFC 7232 §6), which the write is then conditioned on, so a
    change in between fails the write rather than slip past the check."""
    versions = versions_in(if_match)
    if if_none_match is None:
        if versions is None:
            return None
        if len(versions) == 1:
            return next(iter(versions))
    current = await read()
    require_write_preconditions(if_match, if_none_match, current, resource=resource)
    return current.version


def require_write_preconditions(
    if_match: str | None, if_none_match: str | None, current: Versioned, *, resource: str
) -> None:
    """A write's If-Match, then its If-None-Match (RFC 7232 §6), against the current version."""
    require_match(if_match, current, resource=resource)
    require_none_match(if_none_match, current, resource=resource)


def require_none_match(if_none_match: str | None, current: Versioned, *, resource: str) -> None:
    """RFC 7232 §3.2: a write with If-None-Match is not performed when the header names the current
    version, or is ``*`` (the resource exists: Roster's writes never create one)."""
    if none_match(if_none_match, current):
        raise PreconditionFailedException(
            detail=f"{resource} matches If-None-Match (version {current.version}): not changed."
        )
