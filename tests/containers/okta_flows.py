"""What Okta does against a running Roster, and the invariants an import must leave behind.

Okta's create is a lookup (``userName eq``) then a POST when nothing was found; on a 503, a
timeout or a refused connection it tries the same user again later, so a create that was not
acknowledged may still have happened — the next lookup finds it (docs/scim-clients.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from tests.okta import filter_params, user_body
from tests.stack import Tenant
from tests.teams_client import GROUP, PATCH_OP, eventually, group_members, member_ref

_RETRYABLE_STATUSES = {409, 500, 502, 503, 504}  # 409: an earlier, unacknowledged try created it
_RETRY_PAUSE_SECONDS = 1.0


def okta_create(scim: httpx.Client, user_name: str) -> str:
    """One create as Okta makes it; the user's id."""
    found = scim.get("/Users", params=filter_params(user_name))
    assert found.status_code == 200, found.text
    assert found.json()["totalResults"] == 0, f"{user_name} exists already"
    created = scim.post("/Users", json=user_body(user_name))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def push_group(scim: httpx.Client, name: str, members: Sequence[str]) -> str:
    """Okta's Push Groups: a POST with the members, then a PATCH adding one; the group id."""
    *first, last = members
    pushed = scim.post(
        "/Groups", json={"schemas": [GROUP], "displayName": name, "members": list(map(member_ref, first))}
    )
    assert pushed.status_code == 201, pushed.text
    group_id = str(pushed.json()["id"])
    operation = {"op": "add", "path": "members", "value": [member_ref(last)]}
    patched = scim.patch(f"/Groups/{group_id}", json={"schemas": [PATCH_OP], "Operations": [operation]})
    assert patched.status_code in (200, 204), patched.text
    assert group_members(scim, group_id) == set(members)
    return group_id


@dataclass
class OktaImport:
    """Creates every user the way Okta retries them, from several threads at once."""

    base_url: str
    tenant: Tenant
    user_names: Sequence[str]
    workers: int = 6
    timeout: float = 300.0
    acknowledged: dict[str, str] = field(default_factory=dict)  # userName → id, from a 201
    found: dict[str, str] = field(default_factory=dict)  # userName → id, in the end
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, *, fault: Callable[[], None] | None = None, fault_after: int = 0) -> None:
        """The whole import; ``fault`` runs once ``fault_after`` creates were acknowledged."""
        deadline = time.monotonic() + self.timeout
        with (
            httpx.Client(base_url=self.base_url, headers=self.tenant.auth, timeout=30) as scim,
            ThreadPoolExecutor(self.workers) as pool,
        ):
            futures = [
                pool.submit(self._create_until_found, scim, name, deadline) for name in self.user_names
            ]
            if fault is not None:
                while len(self.acknowledged) < fault_after and not all(f.done() for f in futures):
                    time.sleep(0.05)
                fault()
            for future in futures:
                future.result()

    def _create_until_found(self, scim: httpx.Client, user_name: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                found = scim.get("/Users", params=filter_params(user_name))
                if found.status_code == 200 and found.json()["totalResults"]:
                    self._record(self.found, user_name, found.json()["Resources"][0]["id"])
                    return
                if found.status_code == 200:
                    created = scim.post("/Users", json=user_body(user_name))
                    if created.status_code == 201:
                        self._record(self.acknowledged, user_name, created.json()["id"])
                        self._record(self.found, user_name, created.json()["id"])
                        return
                    assert created.status_code in _RETRYABLE_STATUSES, created.text
                else:
                    assert found.status_code in _RETRYABLE_STATUSES, found.text
            except httpx.TransportError:
                pass
            with self._lock:
                self.retries += 1
            time.sleep(_RETRY_PAUSE_SECONDS)
        raise AssertionError(f"{user_name} not created within {self.timeout} s")

    def _record(self, into: dict[str, str], user_name: str, user_id: str) -> None:
        with self._lock:
            into[user_name] = user_id


def assert_import_complete(scim: httpx.Client, admin: httpx.Client, tenant: Tenant, done: OktaImport) -> None:
    """No acknowledged create lost, no user twice, every active user holding exactly one seat."""
    for user_name, user_id in done.acknowledged.items():
        fetched = scim.get(f"/Users/{user_id}")
        assert fetched.status_code == 200, f"acknowledged {user_name} lost: {fetched.text}"
        assert fetched.json()["userName"] == user_name
    for user_name in done.user_names:
        matches = scim.get("/Users", params=filter_params(user_name)).json()
        assert matches["totalResults"] == 1, f"{user_name}: {matches['totalResults']} users"
    total = scim.get("/Users", params={"count": "0"}).json()["totalResults"]
    assert total == len(done.user_names)

    def seats() -> tuple[int, list[str], list[str]] | None:
        usage = admin.get(f"/tenants/{tenant.id}/seats")
        reconciled = admin.post(f"/tenants/{tenant.id}/seats/reconcile")
        if 503 in (usage.status_code, reconciled.status_code):
            return None  # right after an outage an owner may still be rejoining its consumer groups
        assert usage.status_code == 200, usage.text
        assert reconciled.status_code == 200, reconciled.text
        used, drift = int(usage.json()["used"]), reconciled.json()
        return used, drift["seats_without_active_user"], drift["active_users_without_seat"]

    expected: tuple[int, list[str], list[str]] | None = (len(done.user_names), [], [])
    assert eventually(seats, expected, timeout=60) == expected
