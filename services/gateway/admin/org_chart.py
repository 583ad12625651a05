"""Who reports to whom, as a forest (pure): every user appears exactly once.

A user whose manager is not among the users given (none, or beyond the users read) is a root. References
may form a cycle (A's manager.value names B, B's names A: the IdP's data, not ours to police), so users
no root reaches start trees of their own, the earliest first.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.gateway.admin.people_models import AdminUser, OrgNode


def org_chart(users: Sequence[AdminUser]) -> list[OrgNode]:
    """Roots and their reports, both in the order given."""
    known = {user.id for user in users}

    def is_root(user: AdminUser) -> bool:
        return user.manager_id not in known or user.manager_id == user.id

    reports: dict[str, list[AdminUser]] = {}
    for user in users:
        if not is_root(user) and user.manager_id is not None:
            reports.setdefault(user.manager_id, []).append(user)
    placed: set[str] = set()

    def grow(user: AdminUser) -> OrgNode:
        placed.add(user.id)
        below = [grow(report) for report in reports.get(user.id, []) if report.id not in placed]
        return OrgNode(user=user, reports=below)

    roots = [grow(user) for user in users if is_root(user)]
    for user in users:  # only members of a cycle are left
        if user.id not in placed:
            roots.append(grow(user))
    return roots
