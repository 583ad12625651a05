"""The statements every create runs seek the search index by the value's head, not by (tenant, path)
alone, which would read one row per user of the tenant (SQLite's plans; PostgreSQL plans by cost)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session

from services.users import manager_store, store
from services.users.manager_rules import reference_keys


def _plans(engine: Engine, run: Any) -> list[str]:
    """SQLite's plan of every statement ``run`` executes, with the parameters it ran with."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with Session(engine) as session:
            run(session)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    with engine.connect() as connection:
        return [
            str(step[-1])
            for statement, parameters in seen
            for step in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        ]


def _index_searches(plans: list[str]) -> list[str]:
    return [step for step in plans if "user_attributes" in step]


def test_a_manager_reference_is_looked_up_by_its_value(users_engine: Engine) -> None:
    if users_engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plans")
    keys = reference_keys("00u-manager")
    assert keys is not None
    steps = _index_searches(
        _plans(users_engine, lambda s: manager_store.matches(s, tenant="acme", keys=keys))
    )
    assert len(steps) == 2 and all("<expr>=?" in step for step in steps), steps


def test_the_earliest_coach_is_looked_up_by_the_role_value(users_engine: Engine) -> None:
    if users_engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plans")
    steps = _index_searches(
        _plans(users_engine, lambda s: manager_store.earliest_coach(s, tenant="acme", excluding="x"))
    )
    assert steps and all("<expr>=?" in step for step in steps), steps


def test_a_creates_claims_are_three_index_seeks(users_engine: Engine) -> None:
    """The user holding the name, the pending create holding it, whether the id was ever used."""
    if users_engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plans")
    plans = _plans(
        users_engine, lambda s: store.claims(s, tenant="acme", user_name="Ann@Example.com", user_id="u1")
    )
    searches = [step for step in plans if step.startswith("SEARCH")]
    scans = [step for step in plans if step.startswith("SCAN") and step != "SCAN CONSTANT ROW"]
    assert len(searches) == 3 and not scans, plans
