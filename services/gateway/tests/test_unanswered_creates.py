"""Creates answered 503, recorded so the same POST sent again gets the user it made, whichever gateway
instance it reaches: two recorders (two gateways) on one real gateway database, SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from contracts.users import UserProfile
from servicekit.db import make_engine
from services.gateway.tests.clock import Clock
from services.gateway.unanswered_creates import KEEP_SECONDS, UnansweredCreate, UnansweredCreates

ANN = UserProfile(user_name="ann@example.com", title="AE")


def _gateways(engine: Engine, clock: Clock) -> tuple[UnansweredCreates, UnansweredCreates]:
    first, second = (UnansweredCreates(engine=lambda: engine, wall_clock=clock) for _ in range(2))
    return first, second


async def test_the_same_profile_finds_the_id_its_first_attempt_was_given_on_any_gateway(
    gateway_engine: Engine,
) -> None:
    clock = Clock()
    first, second = _gateways(gateway_engine, clock)
    await first.remember("acme", ANN, "u1")
    assert await second.earlier_id("acme", ANN) == "u1"
    assert await second.earlier_id("other", ANN) is None  # tenants apart
    assert await second.earlier_id("acme", ANN.model_copy(update={"title": "VP"})) is None  # another body
    clock.now += KEEP_SECONDS + 1
    assert await first.earlier_id("acme", ANN) is None


async def test_a_later_attempt_replaces_the_earlier_and_old_records_are_forgotten(
    gateway_engine: Engine,
) -> None:
    clock = Clock()
    first, second = _gateways(gateway_engine, clock)
    await first.remember("acme", ANN, "u1")
    await second.remember("acme", ANN, "u2")  # the retry answered 503 too: its create may complete instead
    assert await first.earlier_id("acme", ANN) == "u2"
    clock.now += KEEP_SECONDS + 1
    await first.remember("acme", UserProfile(user_name="bob@example.com"), "u3")
    with Session(gateway_engine) as session:
        assert session.execute(select(func.count()).select_from(UnansweredCreate)).scalar_one() == 1


async def test_a_database_that_refuses_does_not_fail_the_503(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'gateway.db'}")  # its directory does not exist
    await UnansweredCreates(engine=lambda: engine).remember("acme", ANN, "u1")
    assert "create of user u1 answered 503 not recorded for its retry" in caplog.text
