"""Team members must be users of the tenant: the gateway asks the users service before a team changes.

The teams service accepts ids it has not heard of yet (the users event may still be in flight), so the
users service, which answers reads after its own writes, is the one asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from uuid import uuid4

from contracts.topics import USERS_QUERIES, resource_key
from contracts.users import FindUserIds, UserIds
from services.gateway.correlator import Requester
from services.gateway.errors import ScimProblem
from services.gateway.scim_http import expect

CHUNK = 5_000  # ids per FindUserIds: a bounded message, asked concurrently
NAMED_AT_MOST = 5


def chunks(user_ids: Sequence[str], size: int = CHUNK) -> list[tuple[str, ...]]:
    return [tuple(user_ids[start : start + size]) for start in range(0, len(user_ids), size)]


def unknown_members(missing: Sequence[str]) -> ScimProblem:
    """400 invalidValue naming the ids (Okta shows the detail to its admin as it stands)."""
    named = ", ".join(f'"{user_id}"' for user_id in missing[:NAMED_AT_MOST])
    more = f" and {len(missing) - NAMED_AT_MOST} more" if len(missing) > NAMED_AT_MOST else ""
    if len(missing) == 1:
        detail = f"Member {named} is not a user of this tenant; provision the user first, then retry."
    else:
        detail = f"Members {named}{more} are not users of this tenant; provision them first, then retry."
    return ScimProblem(400, detail, "invalidValue")


async def _known(requester: Requester, tenant: str, user_ids: tuple[str, ...]) -> set[str]:
    # A fresh key per query spreads one large check over every partition.
    reply = await requester.ask(
        FindUserIds(user_ids=user_ids),
        tenant=tenant,
        topic=USERS_QUERIES,
        key=resource_key(tenant, uuid4().hex),
    )
    found = expect(reply, UserIds)
    # Not ``in_flight``: a create still waiting for its seat may yet be refused, and its id can only
    # have reached the IdP in a 201 — by then the user is live.
    return set(found.user_ids)


async def require_users(requester: Requester, tenant: str, user_ids: Sequence[str]) -> None:
    """Raise 400 unless every id is a user of the tenant; nothing is sent to the teams service then."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return
    answers = await asyncio.gather(*(_known(requester, tenant, chunk) for chunk in chunks(wanted)))
    known = set().union(*answers)
    missing = [user_id for user_id in wanted if user_id not in known]
    if missing:
        raise unknown_members(missing)
