"""Group membership cost at scale, Roster vs scim2-server in the same run (``make bench``).

For each server: provision the users, push a 10-member and a 10,000-member group, then time Okta's
requests — a one-member PATCH (an add or a ``members[value eq …]`` remove, each sent with the path-less
rename Okta always includes) on both groups, and "Push Now" full replaces of the 10,000 members.

Members are provisioned inactive: they hold no seat, so provisioning skips the seat saga and is quicker;
membership handling is the same for active and inactive users.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devinfra.bench import LatencyStats, Target, machine_info, okta_user, roster_stack, scim2_server

GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
HEADERS = {"Content-Type": "application/scim+json", "Accept": "application/scim+json"}


@dataclass(frozen=True)
class GroupResult:
    name: str
    small_patch: LatencyStats
    big_patch: LatencyStats
    first_push_s: float  # POST /Groups with every member of the big group
    replace: LatencyStats  # Push Now: PATCH replace members with 10,000 ids (1% changed each time)
    provision_s: float
    reads: dict[str, LatencyStats | str]  # the reads IdPs make (or the status they failed with)


async def _provision(client: httpx.AsyncClient, count: int, concurrency: int) -> list[str]:
    prefix = secrets.token_hex(3)
    ids: list[str] = [""] * count
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        body = {**okta_user(f"g{prefix}-{index}@bench.example", index), "active": False}
        async with gate:
            response = await client.post("/Users", json=body)
            while response.status_code == 429:  # the tenant's rate limit: wait as told, as Okta does
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
                response = await client.post("/Users", json=body)
        response.raise_for_status()
        ids[index] = str(response.json()["id"])

    await asyncio.gather(*(one(index) for index in range(count)))
    return ids


def _members(ids: Sequence[str]) -> list[dict[str, str]]:
    return [{"value": user_id} for user_id in ids]


def _patch_body(group_id: str, name: str, *operations: dict[str, Any]) -> dict[str, Any]:
    rename = {"op": "replace", "value": {"id": group_id, "displayName": name}}
    return {"schemas": [PATCH_URN], "Operations": [*operations, rename]}


async def _push(client: httpx.AsyncClient, name: str, ids: Sequence[str]) -> str:
    response = await client.post(
        "/Groups", json={"schemas": [GROUP_URN], "displayName": name, "members": _members(ids)}
    )
    response.raise_for_status()
    return str(response.json()["id"])


async def _one_member_changes(
    client: httpx.AsyncClient, group_id: str, name: str, spare: str, rounds: int
) -> LatencyStats:
    samples = []
    for round_ in range(rounds):
        if round_ % 2 == 0:
            op = {"op": "add", "path": "members", "value": [{"value": spare}]}
        else:
            op = {"op": "remove", "path": f'members[value eq "{spare}"]'}
        started = time.perf_counter()
        response = await client.patch(f"/Groups/{group_id}", json=_patch_body(group_id, name, op))
        samples.append(time.perf_counter() - started)
        response.raise_for_status()
    return LatencyStats.of(samples)


async def _replaces(
    client: httpx.AsyncClient,
    group_id: str,
    name: str,
    ids: Sequence[str],
    spares: Sequence[str],
    rounds: int,
) -> LatencyStats:
    samples = []
    for round_ in range(rounds):
        swap = len(ids) // 100
        members = [*ids[swap:], *spares[:swap]] if round_ % 2 == 0 else list(ids)
        op = {"op": "replace", "path": "members", "value": _members(members)}
        started = time.perf_counter()
        response = await client.patch(f"/Groups/{group_id}", json=_patch_body(group_id, name, op))
        samples.append(time.perf_counter() - started)
        response.raise_for_status()
    return LatencyStats.of(samples)


async def _reads(
    client: httpx.AsyncClient, big: str, member: str, rounds: int
) -> dict[str, LatencyStats | str]:
    """Okta's connection test and group lookup, Entra's membership check, and a whole big group."""
    requests = {
        "GET /Groups (Okta's test)": ("/Groups", {}),
        "GET /Groups?filter=displayName eq": ("/Groups", {"filter": 'displayName eq "bench big"'}),
        "Entra membership check": (
            "/Groups",
            {"filter": f'id eq "{big}" and members[value eq "{member}"]', "excludedAttributes": "members"},
        ),
        "GET /Groups/{id} (all members)": (f"/Groups/{big}", {}),
    }
    measured: dict[str, LatencyStats | str] = {}
    for label, (path, params) in requests.items():
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            response = await client.get(path, params=params)
            samples.append(time.perf_counter() - started)
            if response.is_error:
                measured[label] = f"HTTP {response.status_code}"
                break
        else:
            measured[label] = LatencyStats.of(samples)
    return measured


async def measure(
    target: Target, *, members: int, rounds: int, replaces: int, concurrency: int
) -> GroupResult:
    headers = {**HEADERS, "Authorization": f"Bearer {target.token}"}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=target.base_url, headers=headers, timeout=120, limits=limits
    ) as client:
        started = time.perf_counter()
        ids = await _provision(client, members + members // 100 + 11, concurrency)
        provision_s = time.perf_counter() - started
        big_ids, spares, small_ids = ids[:members], ids[members:-11], ids[-11:-1]
        small = await _push(client, "Bench Small", small_ids)
        started = time.perf_counter()
        big = await _push(client, "Bench Big", big_ids)
        first_push_s = time.perf_counter() - started
        return GroupResult(
            name=target.name,
            small_patch=await _one_member_changes(client, small, "Bench Small", ids[-1], rounds),
            big_patch=await _one_member_changes(client, big, "Bench Big", ids[-1], rounds),
            first_push_s=first_push_s,
            replace=await _replaces(client, big, "Bench Big", big_ids, spares, replaces),
            provision_s=provision_s,
            reads=await _reads(client, big, big_ids[0], max(rounds // 4, 5)),
        )


def report(results: Sequence[GroupResult], *, members: int, rounds: int, replaces: int) -> str:
    lines = [
        f"## Group membership at {members:,} members: Roster vs scim2-server",
        "",
        f"- Machine: {machine_info()}",
        f"- Command: `python -m devinfra.group_bench --members {members} --rounds {rounds}"
        f" --replaces {replaces}`",
        "",
        "| server | 1-member PATCH, 10 members p50 / p99 ms | 1-member PATCH, "
        f"{members:,} members p50 / p99 ms | POST /Groups with {members:,} members s | "
        f"replace {members:,} members p50 / max ms | provisioning users s |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.small_patch.p50_ms:.1f} / {r.small_patch.p99_ms:.1f} "
            f"| {r.big_patch.p50_ms:.1f} / {r.big_patch.p99_ms:.1f} | {r.first_push_s:.2f} "
            f"| {r.replace.p50_ms:.0f} / {r.replace.max_ms:.0f} | {r.provision_s:.0f} |"
        )
    lines += ["", "| server | " + " | ".join(f"{label} p50 / max ms" for label in results[0].reads) + " |"]
    lines.append("|---" * (len(results[0].reads) + 1) + "|")
    for r in results:
        cells = " | ".join(
            stats if isinstance(stats, str) else f"{stats.p50_ms:.1f} / {stats.max_ms:.1f}"
            for stats in r.reads.values()
        )
        lines.append(f"| {r.name} | {cells} |")
    return "\n".join(lines)


def compare(*, members: int, rounds: int, replaces: int, concurrency: int) -> list[GroupResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="roster-group-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        # Provisioning 10,000 users is a bulk import, not IdP traffic: lift the per-tenant rate limit.
        os.environ.setdefault("GATEWAY_RATE_LIMIT_PER_SECOND", "100000")
        os.environ.setdefault("GATEWAY_RATE_LIMIT_BURST", "100000")
        print("starting roster-run …", file=sys.stderr, flush=True)
        roster = stack.enter_context(roster_stack(workdir, seats=10))
        print("starting scim2-server …", file=sys.stderr, flush=True)
        reference = stack.enter_context(scim2_server(workdir, token=secrets.token_urlsafe(24)))
        for target in (roster, reference):
            print(f"measuring {target.name} …", file=sys.stderr, flush=True)
            result = asyncio.run(
                measure(target, members=members, rounds=rounds, replaces=replaces, concurrency=concurrency)
            )
            results.append(result)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=40, help="one-member PATCHes per group")
    parser.add_argument("--replaces", type=int, default=4, help="full replaces of the big group")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="parallel user creates while provisioning"
    )
    args = parser.parse_args(argv)
    results = compare(
        members=args.members, rounds=args.rounds, replaces=args.replaces, concurrency=args.concurrency
    )
    print(report(results, members=args.members, rounds=args.rounds, replaces=args.replaces))
    return 0


if __name__ == "__main__":
    sys.exit(main())
