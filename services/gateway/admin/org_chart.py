"""Who reports to whom, as a forest (pure): every user appears exactly once.

A user whose manager is not among the users given (none, or beyond the users read) is a root. References
may form a cycle (A's manager.value names B, B's names A: the IdP's data, not ours to police), so users
no root reaches hang from a member of their cycle, which starts a tree of its own.
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
    by_id = {user.id: user for user in users}
    for user in users:  # only cycles, and those below them, are left
        if user.id not in placed:
            roots.append(grow(_cycle_entry(user, by_id)))
    return roots


def _cycle_entry(user: AdminUser, by_id: dict[str, AdminUser]) -> AdminUser:
    """The first user met twice walking up from ``user``: a member of the cycle above them."""
    seen: set[str] = set()
    while user.id not in seen:
        seen.add(user.id)
        user = by_id[user.manager_id or user.id]
    return user
