"""Query mechanics the stores share, no rules about any table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlmodel import Session, col
from sqlmodel.sql.expression import SelectOfScalar

IN_LIST_LIMIT = 500
"""Values per ``IN (...)`` list: well inside every driver's bind-parameter limit (SQLite's is 32,766,
psycopg's 65,535), and a plan PostgreSQL still builds quickly."""

_T = TypeVar("_T")


def in_chunks(values: Sequence[_T], size: int = IN_LIST_LIMIT) -> Iterator[Sequence[_T]]:
    """``values`` cut into consecutive pieces of at most ``size``, one query's ``IN`` list each."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def select_in(
    session: Session, query: SelectOfScalar[_T], column: Any, values: Iterable[Any]
) -> Iterator[_T]:
    """What ``query`` finds where ``column`` is one of ``values`` (each asked once), however many."""
    for chunk in in_chunks(sorted(set(values))):
        yield from session.exec(query.where(col(column).in_(chunk)))
