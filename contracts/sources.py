"""Where a change came from; every team and manager event says it."""

from __future__ import annotations

from enum import StrEnum


class ChangeSource(StrEnum):
    SCIM = "scim"  # the identity provider, over SCIM
    PORTAL = "portal"  # an admin, through the admin API / CLI
    MANAGER_RULE = "manager_rule"  # derived: manager resolution, the default manager, manager teams
