"""SCIM 2.0 User endpoints (RFC 7644 §3). Each: authenticate, translate, ask the users service, render."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from contracts.ids import mint_id
from contracts.rejections import RejectionReason
from contracts.users import CreateUser, DeleteUser, ReplaceUser, UserProfile, UserRecord
from services.gateway.http import etags
from services.gateway.http.correlator import ServiceUnavailable
from services.gateway.http.dependencies import UnansweredCreatesDep
from services.gateway.http.errors import Refused, Unavailable
from services.gateway.http.etags import IfMatch, IfNoneMatch
from services.gateway.http.responses import SCIM_PREFIX, ScimResponse, not_modified
from services.gateway.scim.context import Scim, ScimContext, UserId
from services.gateway.scim.listing import SearchDep, refuse_non_post_searches, shown_by_query
from services.gateway.scim.users import patching
from services.gateway.scim.users.translate import UserProjection, list_body, profile_from_scim, user_body
from services.gateway.unanswered_creates import UnansweredCreates

router = APIRouter(prefix=SCIM_PREFIX)
Shown = Annotated[UserProjection, Depends(shown_by_query(UserProjection))]
_PATCH_ATTEMPTS = 3


def _user_response(
    scim: ScimContext, user: UserRecord, shown: UserProjection, *, created: bool = False
) -> ScimResponse:
    body = user_body(user, base_url=scim.base_url, shown=shown)
    return scim.respond(body, user, endpoint="Users", created=created)


async def _expected_version(
    scim: ScimContext, user_id: str, if_match: str | None, if_none_match: str | None
) -> int | None:
    resource = f'User "{user_id}"'

    async def read() -> UserRecord:
        return await scim.owners.users.get(scim.tenant, user_id)

    return await etags.expected_version(if_match, if_none_match, resource=resource, read=read)


@router.get("/Users")
@router.post("/Users/.search")  # the root /.search, over Users and Groups, is scim/search.py
async def list_users(scim: Scim, search: SearchDep) -> ScimResponse:
    shown = search.shown(UserProjection)
    page = await scim.owners.users.list(scim.tenant, search.parameters)
    return ScimResponse(list_body(page, base_url=scim.base_url, shown=shown))


refuse_non_post_searches(router, "/Users/.search")


@router.post("/Users")
async def create_user(scim: Scim, shown: Shown, unanswered: UnansweredCreatesDep) -> ScimResponse:
    profile = profile_from_scim(await scim.body())
    user_id = scim.about(mint_id())  # minted here so the command can be keyed by its resource
    try:
        user = await scim.owners.users.write(scim.tenant, CreateUser(user_id=user_id, profile=profile))
    except ServiceUnavailable:
        await unanswered.remember(scim.tenant, profile, user_id)  # it may still complete
        raise
    except Refused as refused:
        user = await _made_by_an_unanswered_create(scim, unanswered, profile, refused)
    return _user_response(scim, user, shown, created=True)


async def _made_by_an_unanswered_create(
    scim: ScimContext, unanswered: UnansweredCreates, profile: UserProfile, refused: Refused
) -> UserRecord:
    """The same create sent again after a 503 (unanswered_creates.py): the userName is taken by the
    user its first attempt made. Any other refusal stands."""
    if refused.reason != RejectionReason.USER_NAME_TAKEN:
        raise refused
    earlier = await unanswered.earlier_id(scim.tenant, profile)
    if earlier is None:
        raise refused
    try:
        user = await scim.owners.users.get(scim.tenant, earlier)
    except Refused:
        raise refused from None  # not made after all: the name is someone else's
    if user.profile.user_name != profile.user_name:
        raise refused
    scim.about(earlier)
    return user


@router.get("/Users/{user_id}", response_model=None)
async def get_user(
    user_id: UserId, scim: Scim, shown: Shown, if_match: IfMatch = None, if_none_match: IfNoneMatch = None
) -> Response:
    user = await scim.owners.users.get(scim.tenant, user_id)
    etags.require_match(if_match, user, resource=f'User "{user_id}"')
    if etags.none_match(if_none_match, user):
        return not_modified(user)
    return _user_response(scim, user, shown)


@router.put("/Users/{user_id}")
async def replace_user(
    user_id: UserId, scim: Scim, shown: Shown, if_match: IfMatch = None, if_none_match: IfNoneMatch = None
) -> ScimResponse:
    profile = profile_from_scim(await scim.body())
    expected = await _expected_version(scim, user_id, if_match, if_none_match)
    command = ReplaceUser(user_id=user_id, profile=profile, expected_version=expected)
    return _user_response(scim, await scim.owners.users.write(scim.tenant, command), shown)


async def _patch_once(
    scim: ScimContext,
    user_id: str,
    patch: patching.UserPatchRequest,
    *,
    if_match: str | None,
    if_none_match: str | None,
) -> UserRecord:
    current = await scim.owners.users.get(scim.tenant, user_id)
    etags.require_write_preconditions(if_match, if_none_match, current, resource=f'User "{user_id}"')
    # Off the event loop: applying operations is CPU work in proportion to the user (bounds.py), and
    # the loop answers every tenant's requests and the liveness probe.
    profile = await asyncio.to_thread(patching.patched_profile, current, patch)
    command = ReplaceUser(user_id=user_id, profile=profile, expected_version=current.version)
    return await scim.owners.users.write(scim.tenant, command)


@router.patch("/Users/{user_id}")
async def patch_user(
    user_id: UserId, scim: Scim, shown: Shown, if_match: IfMatch = None, if_none_match: IfNoneMatch = None
) -> ScimResponse:
    patch = patching.parse_patch(await scim.body())
    for _ in range(_PATCH_ATTEMPTS):
        try:
            user = await _patch_once(scim, user_id, patch, if_match=if_match, if_none_match=if_none_match)
        except Refused as refused:
            if refused.reason != RejectionReason.VERSION_MISMATCH or if_match is not None:
                raise
            continue  # without If-Match, a concurrent change is simply re-read and the patch re-applied
        # RFC 7644 §3.5.2: 200 with the resource is what both Okta and Entra accept.
        return _user_response(scim, user, shown)
    # RFC 7644 §3.14 keeps 412 for the client's own precondition: this is contention.
    raise Unavailable(detail=f'User "{user_id}" is being changed concurrently; retry the PATCH shortly.')


@router.delete("/Users/{user_id}", status_code=204, response_model=None)
async def delete_user(
    user_id: UserId, scim: Scim, if_match: IfMatch = None, if_none_match: IfNoneMatch = None
) -> Response:
    expected = await _expected_version(scim, user_id, if_match, if_none_match)
    await scim.owners.users.delete(scim.tenant, DeleteUser(user_id=user_id, expected_version=expected))
    return Response(status_code=204)
