"""The load: per user, what Okta sends to create one — ``GET /Users?filter=userName eq "…"`` (expecting
an empty ListResponse), then ``POST /Users`` with an Okta-shaped body — ``concurrency`` flows at a time."""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

CORE_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
OKTA_HEADERS = {
    "Accept": "application/scim+json",
    "Content-Type": "application/scim+json; charset=utf-8",
    "User-Agent": "Okta SCIM Client 1.0.0 (roster-bench)",
}
DEFAULT_USERS = 300
DEFAULT_WARMUP = 10


@dataclass(frozen=True)
class LatencyStats:
    """Latencies in milliseconds of every request that got an HTTP answer (nearest-rank percentiles)."""

    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, samples_s: Sequence[float]) -> LatencyStats:
        ordered = sorted(s * 1000.0 for s in samples_s)
        if not ordered:
            return cls(0, math.nan, math.nan, math.nan, math.nan)

        def rank(p: float) -> float:
            return ordered[max(0, math.ceil(p / 100.0 * len(ordered)) - 1)]

        return cls(len(ordered), rank(50), rank(95), rank(99), ordered[-1])


@dataclass(frozen=True)
class LoadResult:
    """One load run; warm-up flows are not in it."""

    base_url: str
    prefix: str
    users: int
    concurrency: int
    warmup: int
    completed: int  # flows whose GET found no match and whose POST answered 201
    elapsed_s: float
    client_cpu_s: float  # CPU this process (the load generator) used during the measured phase
    get: LatencyStats
    post: LatencyStats
    errors: dict[str, int]  # "GET 401", "POST 409", "POST ReadTimeout", "GET totalResults=1", …

    @property
    def users_per_s(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass
class _Recorder:
    get_s: list[float] = field(default_factory=list)
    post_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    completed: int = 0


def okta_user(user_name: str, index: int) -> dict[str, Any]:
    """A create body as Okta sends it (docs/scim-clients.md)."""
    given, family = f"Bench{index}", "Loadtest"
    return {
        "schemas": [CORE_URN, ENTERPRISE_URN],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} {family}",
        "locale": "en-US",
        "externalId": f"00u{secrets.token_hex(8)}",
        "groups": [],
        "password": "Okta-Placeholder-1!",
        "active": True,
        "title": "Account Executive",
        ENTERPRISE_URN: {
            "department": "Sales",
            "employeeNumber": f"E-{index}",
            "manager": {"value": "00ubenchmanager"},
        },
    }


def filter_url(user_name: str) -> str:
    """The lookup Okta makes before a create, percent-encoded the way Okta encodes it."""
    condition = quote(f'userName eq "{user_name}"', safe="")
    return f"/Users?filter={condition}&startIndex=1&count=100"


async def _timed(
    client: httpx.AsyncClient, method: str, url: str, body: Mapping[str, Any] | None, rec: _Recorder
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await client.request(method, url, json=body)
    except httpx.HTTPError as error:
        rec.errors[f"{method} {type(error).__name__}"] += 1
        return None
    (rec.get_s if method == "GET" else rec.post_s).append(time.perf_counter() - started)
    if not response.is_success:
        rec.errors[f"{method} {response.status_code}"] += 1
    return response


async def _create_flow(client: httpx.AsyncClient, user_name: str, index: int, rec: _Recorder) -> None:
    found = await _timed(client, "GET", filter_url(user_name), None, rec)
    if found is None or not found.is_success:
        return
    total = found.json().get("totalResults")
    if total != 0:  # Okta would link to the match instead of creating
        rec.errors[f"GET totalResults={total}"] += 1
        return
    created = await _timed(client, "POST", "/Users", okta_user(user_name, index), rec)
    if created is not None and created.status_code == 201:
        rec.completed += 1
    elif created is not None and created.is_success:
        rec.errors[f"POST {created.status_code} (not 201)"] += 1


async def _drive(client: httpx.AsyncClient, names: Sequence[str], concurrency: int, rec: _Recorder) -> None:
    pending = iter(enumerate(names))  # shared by the workers: each takes the next user

    async def worker() -> None:
        for index, name in pending:
            await _create_flow(client, name, index, rec)

    async with asyncio.TaskGroup() as group:
        for _ in range(max(1, min(concurrency, len(names)))):
            group.create_task(worker())


def _client(base_url: str, token: str, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {**OKTA_HEADERS, "Authorization": f"Bearer {token}"}
    return httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=60.0)


async def load(
    base_url: str,
    token: str,
    *,
    users: int = DEFAULT_USERS,
    concurrency: int = 16,
    prefix: str | None = None,
    warmup: int = DEFAULT_WARMUP,
) -> LoadResult:
    """Create ``users`` users the way Okta does, ``concurrency`` flows at a time, after ``warmup`` more."""
    prefix = prefix or f"bench-{secrets.token_hex(4)}"
    names = [f"{prefix}.{i:06d}@example.com" for i in range(warmup + users)]
    async with _client(base_url.rstrip("/"), token, concurrency) as client:
        await _drive(client, names[:warmup], concurrency, _Recorder())
        rec = _Recorder()
        cpu, started = time.process_time(), time.perf_counter()
        await _drive(client, names[warmup:], concurrency, rec)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return LoadResult(
        base_url=base_url,
        prefix=prefix,
        users=users,
        concurrency=concurrency,
        warmup=warmup,
        completed=rec.completed,
        elapsed_s=elapsed,
        client_cpu_s=cpu,
        get=LatencyStats.of(rec.get_s),
        post=LatencyStats.of(rec.post_s),
        errors=dict(sorted(rec.errors.items())),
    )


def _latency_line(label: str, stats: LatencyStats) -> str:
    return (
        f"  {label:<5} n={stats.count:<6} p50={stats.p50_ms:8.1f}  p95={stats.p95_ms:8.1f}"
        f"  p99={stats.p99_ms:8.1f}  max={stats.max_ms:8.1f}  (ms)"
    )


def format_result(result: LoadResult) -> str:
    errors = ", ".join(f"{k}: {v}" for k, v in result.errors.items()) or "none"
    return "\n".join(
        [
            f"{result.base_url}  users={result.users} concurrency={result.concurrency}"
            f" warmup={result.warmup} prefix={result.prefix}",
            f"  completed {result.completed}/{result.users} create flows in {result.elapsed_s:.2f} s"
            f" = {result.users_per_s:.1f} users/s (load generator CPU {result.client_cpu_s:.2f} s)",
            _latency_line("GET", result.get),
            _latency_line("POST", result.post),
            f"  non-2xx / failed: {errors}",
        ]
    )
