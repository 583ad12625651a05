"""What a list query asks of a resource's owner (RFC 7644 §3.4.2): the parameters GET /Users, GET /Groups
and every search share. ``ListUsers`` and ``ListGroups`` carry exactly these on the wire."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MAX_INDEX = 2**31 - 1  # paging values beyond this cannot address a real row, and overflow SQL integers

IDS_PER_PAGE = 10_000
"""Ids per page of a whole-tenant query (active users, seat holders, a team's members): ~0.5 MiB, far
under the 8 MiB message limit, however large the tenant. The asker pages by keyset until a short page."""


class KeysetPage(BaseModel):
    """A page of a whole-tenant query, in id order: the ids after ``after`` (from the start when None),
    at most ``limit`` of them. A page shorter than ``limit`` is the last."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    after: str | None = None
    limit: int = Field(default=IDS_PER_PAGE, ge=1, le=IDS_PER_PAGE)


class ListParameters(BaseModel):
    """``filter`` is the SCIM filter text (RFC 7644 §3.4.2.2); the owner evaluates it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    filter: str | None = None
    start_index: int = Field(default=1, ge=1, le=MAX_INDEX)
    count: int = Field(default=100, ge=0, le=MAX_INDEX)
    sort_by: str | None = Field(default=None, description="A SCIM attribute path (RFC 7644 §3.4.2.3).")
    sort_descending: bool = False
