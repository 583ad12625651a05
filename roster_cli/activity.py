"""``activity``: a tenant's provisioning activity log, newest first — each SCIM request as the identity
provider was answered (the exact error detail it showed), and what the services did."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from roster_cli.models import ActivityEntry, ActivityOutcome, ActivityPage
from roster_cli.output import add_row, table
from roster_cli.session import session
from roster_cli.tenants import TenantId

_AGO = re.compile(r"(\d{1,12})([mhd])")  # more digits are no time ago (and int() refuses 4,300)
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def _moment(value: str | None, option: str) -> str | None:
    """``30m``, ``2h`` or ``7d`` ago, or an ISO 8601 time (UTC unless it names its zone)."""
    if value is None:
        return None
    ago = _AGO.fullmatch(value.strip())
    if ago:
        try:
            moment = datetime.now(UTC) - timedelta(**{_UNITS[ago[2]]: int(ago[1])})
        except OverflowError:  # before year 1
            raise typer.BadParameter(f"{value} ago is before any time kept", param_hint=option) from None
        return moment.isoformat()
    try:
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        raise typer.BadParameter(
            "a time (2026-03-02T09:30:00Z) or how long ago (30m, 2h, 7d)", param_hint=option
        ) from None


def entries_table(entries: list[ActivityEntry], *, ids: bool = False) -> Table:
    """With ``ids``, each entry's request id and correlation id too: what ``--request-id`` and
    ``--correlation-id`` take, to go from a row to everything its request caused."""
    headers = ("WHEN", "OUTCOME", "WHAT", "CLIENT", "STATUS", "WHO", "DETAIL")
    grid = table(*headers, *(("REQUEST ID", "CORRELATION ID") if ids else ()))
    for entry in entries:
        cells = (
            entry.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.outcome,
            entry.summary,
            entry.client,
            entry.status,
            entry.name or entry.resource_id,
            # Whole, as the identity provider showed it: support quotes it back to the customer.
            " ".join(filter(None, (entry.scim_type, entry.detail))) or None,
        )
        add_row(grid, *cells, *((entry.request_id, entry.correlation_id) if ids else ()))
    return grid


def _report(page: ActivityPage, *, ids: bool) -> list[str | Table]:
    if not page.entries:
        return ["no activity matches"]
    report: list[str | Table] = [entries_table(page.entries, ids=ids)]
    if page.next_cursor:
        report.append(f"older entries: run again with --after {page.next_cursor}")
    return report


def show_activity(
    ctx: typer.Context,
    tenant_id: TenantId,
    user: Annotated[str | None, typer.Option(help="Only about this user (id or userName).")] = None,
    team: Annotated[str | None, typer.Option(help="Only about this team (id or name).")] = None,
    since: Annotated[str | None, typer.Option(help="From this time, or this long ago (30m, 2h, 7d).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this time, or this long ago.")] = None,
    outcome: Annotated[ActivityOutcome | None, typer.Option(help="Only this outcome.")] = None,
    correlation_id: Annotated[
        str | None, typer.Option("--correlation-id", help="One request and everything it caused.")
    ] = None,
    request_id: Annotated[
        str | None,
        typer.Option(
            "--request-id",
            help="The Request id an identity provider was shown: that request and all it caused.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="Entries per page.")] = 50,
    after: Annotated[str | None, typer.Option(help="The cursor printed under the previous page.")] = None,
    ids: Annotated[
        bool, typer.Option("--ids", help="Also show each entry's request id and correlation id.")
    ] = False,
) -> None:
    """A tenant's activity, newest first: requests as answered, and the events they caused."""
    admin = session(ctx)
    filters: dict[str, str | int | None] = {
        "user": user,
        "team": team,
        "since": _moment(since, "--since"),
        "until": _moment(until, "--until"),
        "outcome": outcome.value if outcome else None,
        "correlation_id": correlation_id,
        "request_id": request_id,
        "limit": limit,
        "after": after,
    }
    page = admin.client.activity(tenant_id, filters)
    admin.out.show(page.model_dump(mode="json"), *_report(page, ids=ids))
