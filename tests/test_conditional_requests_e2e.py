"""Conditional requests over HTTP through the live stack (RFC 7232, RFC 7644 §3.14): If-Match and
If-None-Match on every method that names one User or Group, evaluated If-Match first (RFC 7232 §6); a
refused request changes nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.hostile import PATCH_OP, Seeded, assert_error
from tests.okta import user_body

pytestmark = pytest.mark.slow


def test_if_match_that_cannot_be_a_version_is_412(unchanged: Seeded) -> None:
    user, group = f"/Users/{unchanged.user_id}", f"/Groups/{unchanged.group_id}"
    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "X"}]}
    for tag in ('W/"' + "9" * 5000 + '"', 'W/"²"', 'W/"-1"', '"٣"', "W/", '""'):
        guarded = {b"If-Match": tag.encode()}  # httpx sends str headers as ASCII only
        for response in (
            unchanged.scim.put(user, json=user_body("seed@example.com"), headers=guarded),
            unchanged.scim.patch(user, json=patch, headers=guarded),
            unchanged.scim.delete(user, headers=guarded),
            unchanged.scim.put(group, json={"displayName": "X"}, headers=guarded),
            unchanged.scim.patch(group, json=patch, headers=guarded),
            unchanged.scim.delete(group, headers=guarded),
        ):
            assert_error(response, 412, None, tag[:20])
        for path in (user, group):
            assert unchanged.scim.get(path, headers={b"If-None-Match": tag.encode()}).status_code == 200


def test_a_read_whose_if_match_is_stale_is_412(unchanged: Seeded) -> None:
    for path in (f"/Users/{unchanged.user_id}", f"/Groups/{unchanged.group_id}"):
        current = unchanged.scim.get(path).headers["etag"]
        assert unchanged.scim.get(path, headers={"If-Match": current}).status_code == 200
        assert_error(unchanged.scim.get(path, headers={"If-Match": 'W/"999999"'}), 412, None, path)
        # If-Match first: a stale If-Match is 412 even when If-None-Match would be 304.
        both = {"If-Match": 'W/"999999"', "If-None-Match": current}
        assert_error(unchanged.scim.get(path, headers=both), 412, None, path)


def test_a_write_whose_if_none_match_names_the_current_version_is_412(unchanged: Seeded) -> None:
    """RFC 7232 §3.2: ``*`` names any current representation, and Roster's writes never create one."""
    user, group = f"/Users/{unchanged.user_id}", f"/Groups/{unchanged.group_id}"
    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "X"}]}
    current = {path: unchanged.scim.get(path).headers["etag"] for path in (user, group)}
    for path, tag in ((user, "*"), (group, "*"), (user, current[user]), (group, current[group])):
        guarded = {"If-None-Match": tag}
        body = user_body("seed@example.com") if path == user else {"displayName": "X"}
        for response in (
            unchanged.scim.put(path, json=body, headers=guarded),
            unchanged.scim.patch(path, json=patch, headers=guarded),
            unchanged.scim.delete(path, headers=guarded),
        ):
            assert_error(response, 412, None, (path, tag, response.request.method))
            assert "matches If-None-Match" in response.json()["detail"]
        both = {"If-Match": 'W/"999999"', "If-None-Match": tag}  # If-Match first (RFC 7232 §6)
        stale = unchanged.scim.patch(path, json=patch, headers=both)
        assert_error(stale, 412, None, path)
        assert "has changed" in stale.json()["detail"]


def test_a_write_whose_if_none_match_names_another_version_is_applied(scim: httpx.Client) -> None:
    created = scim.post("/Users", json=user_body("conditional@example.com"))
    assert created.status_code == 201
    path, old = f"/Users/{created.json()['id']}", created.headers["etag"]
    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "VP"}]}
    changed = scim.patch(path, json=patch, headers={"If-None-Match": 'W/"999999"'})
    assert changed.status_code == 200 and changed.json()["title"] == "VP"
    assert changed.headers["etag"] != old
    again = scim.patch(path, json=patch, headers={"If-None-Match": old})  # no longer current
    assert again.status_code == 200
    assert scim.delete(path, headers={"If-None-Match": old}).status_code == 204
    assert scim.get(path).status_code == 404
