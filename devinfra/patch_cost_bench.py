"""What applying a User PATCH costs the gateway in CPU, for operations on multi-valued attributes at
the bounds (``services/gateway/scim/users/value_work.py``): the gateway's own functions, in-process, on
a user holding 100 e-mails (the most one may hold). Each case's best of three runs of ``time.process_time``.

    uv run python -m devinfra.patch_cost_bench
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from scim2_models import SCIMException

from contracts.users import UserProfile, UserRecord
from services.gateway.scim.groups.patching import group_patch
from services.gateway.scim.users.patching import parse_patch, patched_profile

PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
TYPED = 'emails[type eq "work"].value'
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def _terms(count: int) -> str:
    return " or ".join(f'type eq "t{term}"' for term in range(count))


def _entries(count: int) -> list[dict[str, str]]:
    return [{"value": f"z{entry}@example.com"} for entry in range(count)]


CASES: dict[str, list[dict[str, Any]]] = {
    "100 replaces through emails[type eq work].value": [
        {"op": "replace", "path": TYPED, "value": f"n{i}@example.com"} for i in range(100)
    ],
    "one remove, a filter of 550 terms": [{"op": "remove", "path": f"emails[{_terms(550)}]"}],
    "10 removes, filters of 55 terms": [{"op": "remove", "path": f"emails[{_terms(55)}]"}] * 10,
    "a remove by value of 1,000 entries": [{"op": "remove", "path": "emails", "value": _entries(1000)}],
    "100 removes by value of 10 entries": [{"op": "remove", "path": "emails", "value": _entries(10)}] * 100,
    "100 replaces of emails.display": [
        {"op": "replace", "path": "emails.display", "value": f"d{i}"} for i in range(100)
    ],
    "900 ims added, then 99 replaces of ims.display": [
        {"op": "add", "path": "ims", "value": [{"value": f"z{i}"} for i in range(900)]},
        *({"op": "replace", "path": "ims.display", "value": f"d{i}"} for i in range(99)),
    ],
    "900 ims added, then 99 replaces of ims.display under the schema's path": [
        {"op": "add", "path": "ims", "value": [{"value": f"z{i}"} for i in range(900)]},
        *({"op": "replace", "path": CORE_USER, "value": {"ims.display": f"d{i}"}} for i in range(99)),
    ],
    "100 adds of {} through ims[type eq ...], each creating an element": [
        {"op": "add", "path": f'ims[type eq "t{i}"]', "value": {}} for i in range(100)
    ],
    "one add of 1,000 e-mails (refused once applied)": [
        {"op": "add", "path": "emails", "value": [{"value": f"a{i}@example.com"} for i in range(1000)]}
    ],
    "13 replaces through the filter": [
        {"op": "replace", "path": TYPED, "value": f"n{i}@example.com"} for i in range(13)
    ],
    "13 replaces of emails.display": [
        {"op": "replace", "path": "emails.display", "value": f"d{i}"} for i in range(13)
    ],
    "one remove, a filter of 30 terms": [{"op": "remove", "path": f"emails[{_terms(30)}]"}],
    "Entra ID's three filtered replaces": [
        {"op": "replace", "path": TYPED, "value": "w@example.com"},
        {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 555 0100"},
        {"op": "replace", "path": 'addresses[type eq "work"].locality', "value": "Paris"},
    ],
}


def _crowded_user() -> UserRecord:
    emails = [{"value": f"e{i}@example.com", "type": "work"} for i in range(100)]
    profile = UserProfile.model_validate({"user_name": "ann@example.com", "emails": emails})
    now = datetime.now(UTC)
    return UserRecord(id="u1", profile=profile, created=now, last_modified=now, version=1)


def _best_cpu(call: Callable[[], str], runs: int = 3) -> tuple[str, float]:
    outcome, best = "", float("inf")
    for _ in range(runs):
        started = time.process_time()
        outcome = call()
        best = min(best, time.process_time() - started)
    return outcome, best


def _apply(user: UserRecord, operations: list[dict[str, Any]]) -> str:
    try:
        patched_profile(user, parse_patch({"schemas": [PATCH_URN], "Operations": operations}))
    except SCIMException as refused:
        return f"refused ({refused.scim_type})"
    return "applied"


def _typed_members(count: int) -> list[dict[str, Any]]:
    """Removed by value with a key besides value and display: the SCIM library reads these."""
    return [
        {
            "op": "remove",
            "path": "members",
            "value": [{"value": f"u{i:06}", "type": "User"} for i in range(count)],
        }
    ]


GROUP_CASES: dict[str, list[dict[str, Any]]] = {
    f"a remove by value of {count:,} members with a type": _typed_members(count)
    for count in (400, 1000, 25_000)
}


def _apply_to_group(operations: list[dict[str, Any]]) -> str:
    try:
        group_patch({"schemas": [PATCH_URN], "Operations": operations}, team_id="t1")
    except SCIMException as refused:
        return f"refused ({refused.scim_type})"
    return "applied"


def main() -> None:
    user = _crowded_user()
    print("| PATCH, on a user holding 100 e-mails | outcome | gateway CPU s |")
    print("|---|---|---:|")
    for name, operations in CASES.items():
        outcome, seconds = _best_cpu(partial(_apply, user, operations))
        print(f"| {name} | {outcome} | {seconds:.3f} |")
    print()
    print("| Group PATCH | outcome | gateway CPU s |")
    print("|---|---|---:|")
    for name, operations in GROUP_CASES.items():
        outcome, seconds = _best_cpu(partial(_apply_to_group, operations))
        print(f"| {name} | {outcome} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
