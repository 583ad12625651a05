"""A request's own CPU-heavy work: one at a time, within the request's time, never run once given up."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from services.gateway.http.correlator import ServiceUnavailable
from services.gateway.http.turns import Turns


async def test_works_take_turns_and_answer_their_own_result() -> None:
    turns = Turns(timeout_seconds=5)
    running: list[int] = []
    at_once: list[int] = []

    def work(n: int) -> int:
        running.append(n)
        at_once.append(len(running))
        time.sleep(0.05)
        running.remove(n)
        return n * n

    try:
        results = await asyncio.gather(*(turns.run(lambda n=n: work(n)) for n in range(4)))  # type: ignore[misc]
    finally:
        turns.close()
    assert results == [0, 1, 4, 9]
    assert max(at_once) == 1


async def test_a_refusal_raised_by_the_work_is_the_requests() -> None:
    turns = Turns(timeout_seconds=5)

    def refused() -> None:
        raise ValueError("not a PatchOp")

    try:
        with pytest.raises(ValueError, match="not a PatchOp"):
            await turns.run(refused)
    finally:
        turns.close()


async def test_work_past_the_timeout_is_unavailable_and_work_not_begun_never_runs() -> None:
    turns = Turns(timeout_seconds=0.2)
    release = threading.Event()
    ran: list[str] = []

    def long() -> None:
        ran.append("long")
        release.wait(5)

    try:
        first = asyncio.ensure_future(turns.run(long))
        second = asyncio.ensure_future(turns.run(lambda: ran.append("queued")))
        for waiting in (first, second):  # the second waited its whole time for a turn
            with pytest.raises(ServiceUnavailable):
                await waiting
        release.set()
        await asyncio.sleep(0.1)  # the long work ends; the one given up is not started after it
    finally:
        turns.close()
    assert ran == ["long"]
