"""Team members must be users of the tenant: the gateway asks the users service before a team changes.

The teams service accepts ids it has not heard of yet (the users event may still be in flight), so the
users service, which answers reads after its own writes, is the one asked.
"""

from __future__ import annotations

from collections.abc import Sequence

from scim2_models import InvalidValueException

from services.gateway.owners import UsersClient

NAMED_AT_MOST = 5


def unknown_members(missing: Sequence[str]) -> InvalidValueException:
    """400 invalidValue naming the ids (Okta shows the detail to its admin as it stands)."""
    named = ", ".join(f'"{user_id}"' for user_id in missing[:NAMED_AT_MOST])
    more = f" and {len(missing) - NAMED_AT_MOST} more" if len(missing) > NAMED_AT_MOST else ""
    if len(missing) == 1:
        detail = f"Member {named} is not a user of this tenant; provision the user first, then retry."
    else:
        detail = f"Members {named}{more} are not users of this tenant; provision them first, then retry."
    return InvalidValueException(detail=detail)


async def require_users(users: UsersClient, tenant: str, user_ids: Sequence[str]) -> None:
    """Raise 400 unless every id is a user of the tenant; nothing is sent to the teams service then."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return
    known = await users.known(tenant, wanted)
    missing = [user_id for user_id in wanted if user_id not in known]
    if missing:
        raise unknown_members(missing)
