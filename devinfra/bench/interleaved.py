"""``interleave``: Roster from several source trees at once, loaded in turns at concurrency 1.

On a shared machine two runs minutes apart do not see the same machine: other work comes and goes, and
at concurrency 1 that noise is larger than most latency changes. Here every tree (a checkout: the
branch, and the commit it started from) runs its own default-shape Roster (``roster-run``: one local
broker, SQLite) from its own directory, all started before the load begins, and the create flows
alternate between them, ``block`` flows at a time, so each tree is measured under the same conditions.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from devinfra.bench.load import LatencyStats, LoadResult, _client, _create_flow, _Recorder
from devinfra.bench.servers import Target

TREE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")


def parse_tree(text: str) -> tuple[str, Path]:
    """``NAME=DIR``: a name for the reports (and the user names) and a Roster checkout."""
    name, _, directory = text.partition("=")
    if not TREE_NAME.fullmatch(name) or not directory:
        raise ValueError(f"expected NAME=DIR (NAME: letters, digits, '-'), got {text!r}")
    path = Path(directory).expanduser().resolve()
    if not (path / "devinfra" / "run.py").exists():
        raise ValueError(f"{path} is not a Roster checkout (no devinfra/run.py)")
    return name, path


def turns(names: Sequence[str], flows: int, block: int) -> list[tuple[str, int]]:
    """(tree, flow number) in the order the flows run: ``block`` flows of each tree in turn."""
    order: list[tuple[str, int]] = []
    for start in range(0, flows, block):
        for name in names:
            order += [(name, index) for index in range(start, min(flows, start + block))]
    return order


async def interleaved_load(
    targets: Mapping[str, Target],
    *,
    users: int,
    warmup: int,
    block: int,
    measuring: AbstractContextManager[object] | None = None,
) -> dict[str, LoadResult]:
    """``warmup`` flows against each tree, then ``users`` each in turns (inside ``measuring``, which
    may read the servers' CPU around them); one result per tree, whose ``elapsed_s`` (and
    ``client_cpu_s``) is what its own flows took."""
    prefix = f"bench-{secrets.token_hex(4)}"
    clients = {name: _client(t.base_url.rstrip("/"), t.token, 1) for name, t in targets.items()}
    recorders = {name: _Recorder() for name in targets}
    spent = dict.fromkeys(targets, 0.0)
    cpu = dict.fromkeys(targets, 0.0)
    try:
        for name, index in turns(list(targets), warmup, warmup or 1):
            await _create_flow(
                clients[name], f"{prefix}-w-{name}.{index:06d}@example.com", index, _Recorder()
            )
        with measuring or nullcontext():
            for name, index in turns(list(targets), users, block):
                started, used = time.perf_counter(), time.process_time()
                user_name = f"{prefix}-{name}.{index:06d}@example.com"
                await _create_flow(clients[name], user_name, index, recorders[name])
                spent[name] += time.perf_counter() - started
                cpu[name] += time.process_time() - used
    finally:
        for client in clients.values():
            await client.aclose()
    return {
        name: _result(targets[name], recorders[name], prefix, users, warmup, (spent[name], cpu[name]))
        for name in targets
    }


def _result(
    target: Target, rec: _Recorder, prefix: str, users: int, warmup: int, times: tuple[float, float]
) -> LoadResult:
    return LoadResult(
        base_url=target.base_url,
        prefix=prefix,
        users=users,
        concurrency=1,
        warmup=warmup,
        completed=rec.completed,
        elapsed_s=times[0],
        client_cpu_s=times[1],
        get=LatencyStats.of(rec.get_s),
        post=LatencyStats.of(rec.post_s),
        errors=dict(sorted(rec.errors.items())),
    )
