"""The teams service process on a real broker: kill -9 in the middle of Okta's membership updates."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.stack import Stack
from tests.teams_client import GROUP, PATCH_OP, create_user, group_members, member_ref

pytestmark = pytest.mark.slow


async def _add_one_by_one(
    base_url: str, auth: dict[str, str], group_id: str, user_ids: list[str]
) -> list[int]:
    """Okta's "Push Group Memberships Immediately": one PATCH per added user, a few at a time."""
    gate = asyncio.Semaphore(4)

    async def add(client: httpx.AsyncClient, user_id: str) -> int:
        body = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [member_ref(user_id)]}],
        }
        async with gate:
            return (await client.patch(f"/Groups/{group_id}", json=body)).status_code

    async with httpx.AsyncClient(base_url=base_url, headers=auth, timeout=60) as client:
        return list(await asyncio.gather(*(add(client, user_id) for user_id in user_ids)))


def test_kill_9_of_teams_mid_membership_burst_loses_nothing(stack: Stack) -> None:
    tenant = stack.new_tenant("fault-teams")
    assert stack.teams is not None
    with httpx.Client(base_url=stack.base_url, headers=tenant.auth, timeout=60) as scim:
        users = [create_user(scim, f"m{i}@fault.example") for i in range(24)]
        created = scim.post("/Groups", json={"schemas": [GROUP], "displayName": "Fault Line", "members": []})
        assert created.status_code == 201, created.text
        group_id = created.json()["id"]

        with ThreadPoolExecutor(max_workers=1) as pool:
            burst = pool.submit(asyncio.run, _add_one_by_one(stack.base_url, tenant.auth, group_id, users))
            time.sleep(0.5)
            stack.teams.kill()  # kill -9: whatever was mid-transaction is redelivered after the restart
            time.sleep(1)
            stack.start_teams()
            statuses = burst.result(timeout=180)

        assert set(statuses) <= {200, 204, 503}, statuses
        answered = {user for user, status in zip(users, statuses, strict=True) if status in (200, 204)}
        assert answered <= group_members(scim, group_id)  # every acknowledged add is there

        # Okta retries what failed; the end state is exact, with no duplicate membership.
        retried = [user for user, status in zip(users, statuses, strict=True) if status == 503]
        assert set(asyncio.run(_add_one_by_one(stack.base_url, tenant.auth, group_id, retried))) <= {200, 204}
        stored = scim.get(f"/Groups/{group_id}").json()
        values = [member["value"] for member in stored["members"]]
        assert sorted(values) == sorted(users)


async def _push_same_name(base_url: str, auth: dict[str, str], names: list[str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base_url, headers=auth, timeout=60) as client:
        return list(
            await asyncio.gather(
                *(client.post("/Groups", json={"schemas": [GROUP], "displayName": name}) for name in names)
            )
        )


def test_two_teams_instances_keep_names_unique_and_memberships_exact(stack: Stack) -> None:
    """Two instances of the teams service in the same consumer groups, on one PostgreSQL database."""
    extra = stack.start_extra("teams")
    try:
        tenant = stack.new_tenant("two-teams")
        with httpx.Client(base_url=stack.base_url, headers=tenant.auth, timeout=60) as scim:
            users = [create_user(scim, f"t{i}@two.example") for i in range(20)]
            names = ["Twins" if n % 2 else "TWINS" for n in range(8)]
            pushes = asyncio.run(_push_same_name(stack.base_url, tenant.auth, names))
            assert sorted(r.status_code for r in pushes) == [201] + [409] * 7, [r.text for r in pushes]
            [group_id] = [r.json()["id"] for r in pushes if r.status_code == 201]
            statuses = asyncio.run(_add_one_by_one(stack.base_url, tenant.auth, group_id, users))
            assert set(statuses) <= {200, 204}, statuses
            stored = scim.get(f"/Groups/{group_id}").json()
            assert sorted(member["value"] for member in stored["members"]) == sorted(users)
            found = scim.get("/Groups", params={"filter": 'displayName eq "twins"'}).json()
            assert found["totalResults"] == 1
    finally:
        extra.stop()
        stack.extras.remove(extra)
