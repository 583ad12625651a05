"""Every error ``detail`` the docs quote is one Roster writes: docs/errors.md and the IdP guides name the
texts admins see in Okta and Entra, so a reworded message must not leave them quoting a stale one."""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUOTING = ("docs/errors.md", "docs/okta.md", "docs/entra.md")
SOURCES = ("contracts", "servicekit", "services")
PLACEHOLDER = re.compile(r"<[^<>]*>|…")  # `<id>` varies; `…` elides
SHORTEST_CHECKED = 6


def _string_parts(tree: ast.AST) -> Iterator[str]:
    """String literals (implicit concatenation already joined), f-strings as the pieces between their
    replacement fields, which vary."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


@functools.cache
def _source_strings() -> list[str]:
    strings: list[str] = []
    for package in SOURCES:
        for path in (ROOT / package).rglob("*.py"):
            if "tests" not in path.parts:
                strings.extend(_string_parts(ast.parse(path.read_text())))
    return strings


def _quoted_details(path: Path) -> Iterator[str]:
    """The cells of each Markdown table's ``detail`` column that are one code span."""
    column: int | None = None
    for line in path.read_text().splitlines():
        if not line.startswith("|"):
            column = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if column is None:
            column = cells.index("detail") if "detail" in cells else -1
        elif column >= 0 and len(cells) > column:
            cell = cells[column]
            if cell.startswith("`") and cell.endswith("`") and cell.count("`") == 2:
                yield cell[1:-1]


def _fixed_parts(detail: str) -> list[str]:
    parts = (part.strip().strip("'\"").strip() for part in PLACEHOLDER.split(detail))
    return [part for part in parts if len(part) >= SHORTEST_CHECKED]


QUOTED = sorted({(name, detail) for name in QUOTING for detail in _quoted_details(ROOT / name)})


def test_the_docs_quote_many_details() -> None:
    assert len([name for name, _ in QUOTED if name == "docs/errors.md"]) > 80


@pytest.mark.parametrize(("document", "detail"), QUOTED)
def test_a_quoted_detail_is_written_by_roster(document: str, detail: str) -> None:
    strings = _source_strings()
    missing = [part for part in _fixed_parts(detail) if not any(part in string for string in strings)]
    assert not missing, f"{document} quotes {detail!r}, but no Roster source writes {missing}"
