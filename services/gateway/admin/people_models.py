"""What the admin API (and the console) shows of a user and of the reporting lines."""

from __future__ import annotations

from pydantic import BaseModel, Field

from contracts.users import RosterRole


class ManagerLink(BaseModel):
    id: str
    user_name: str | None = Field(description="None when the manager could not be read.")
    display_name: str | None = None
    is_default: bool = Field(description="The tenant's default manager stands in: no (usable) reference.")


class AdminUser(BaseModel):
    id: str
    user_name: str
    display_name: str | None
    active: bool
    role: RosterRole
    title: str | None
    manager_id: str | None
    manager: ManagerLink | None


class OrgNode(BaseModel):
    user: AdminUser
    reports: list[OrgNode]
