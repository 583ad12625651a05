"""Two renderings of every answer: Rich tables and lines for people, one JSON document for scripts.

Lines for people are also read by shell scripts: a create prints the new id alone on its first line
(``TENANT_ID=$(roster-admin tenant create Acme | head -1)``), then ``KEY=value`` lines (``SCIM_TOKEN=…``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

JsonDocument = dict[str, Any]


def table(*headers: str) -> Table:
    # Ids must survive a narrow terminal whole: fold them onto the next line rather than cut them.
    grid = Table(box=None, pad_edge=False, header_style="bold")
    for header in headers:
        grid.add_column(header, overflow="fold")
    return grid


def add_row(grid: Table, *cells: str | int | None) -> None:
    # Text, not str: a tenant or team name such as "[red]Sales" is shown as typed, not as Rich markup.
    grid.add_row(*(Text("-" if cell is None else str(cell)) for cell in cells))


UNWRAPPED_WIDTH = 10_000
"""Piped or redirected, a table is read by ``grep``, ``awk`` or a copy and paste: its rows stay one
line each, instead of Rich's 80 columns for a stream that is not a terminal."""


def stacked(lines: list[str]) -> str:
    """Several lines in one cell: stacked on a terminal, joined by ", " when piped, so the row stays one
    line (``UNWRAPPED_WIDTH``) and ``grep <team id>`` finds its members."""
    return "\n".join(lines) if on_a_terminal() else ", ".join(lines)


def on_a_terminal() -> bool:
    return Console().is_terminal


def _console() -> Console:
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=UNWRAPPED_WIDTH)


@dataclass(frozen=True)
class Output:
    as_json: bool

    def show(self, document: JsonDocument, *for_people: str | Table) -> None:
        """The JSON document with ``--json``, otherwise the lines and tables."""
        if self.as_json:
            typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
            return
        for item in for_people:
            if isinstance(item, str):
                self.line(item)
            else:
                _console().print(item)

    def line(self, text: str) -> None:
        """At once and flushed, without ``--json`` only (a line printed before a later step fails)."""
        if not self.as_json:
            typer.echo(text)
