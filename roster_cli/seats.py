"""``seats`` commands: usage, the limit, and the check of seats held against active users."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from roster_cli.models import MAX_SEATS, SeatDrift, SeatUsage
from roster_cli.output import add_row, table
from roster_cli.session import Session, session
from roster_cli.tenants import TenantId

seats_app = typer.Typer(help="Seat limits.", no_args_is_help=True)


def _show_usage(admin: Session, usage: SeatUsage) -> None:
    aside = f", {usage.set_aside} more set aside for instant activations" if usage.set_aside else ""
    admin.out.show(usage.model_dump(mode="json"), f"seats used {usage.used} of {usage.limit}{aside}")


@seats_app.command("show")
def show_seats(ctx: typer.Context, tenant_id: TenantId) -> None:
    """Seats used / limit."""
    admin = session(ctx)
    _show_usage(admin, admin.client.seats(tenant_id))


# A negative limit is read as the argument it is (refused by its bound), not as an unknown option "-1".
@seats_app.command("set", context_settings={"ignore_unknown_options": True})
def set_seats(
    ctx: typer.Context,
    tenant_id: TenantId,
    limit: Annotated[int, typer.Argument(min=0, max=MAX_SEATS, help="The new seat limit.")],
) -> None:
    """Change the seat limit (lowering it deprovisions nobody)."""
    admin = session(ctx)
    _show_usage(admin, admin.client.set_seats(tenant_id, limit))


@seats_app.command("reconcile")
def reconcile_seats(
    ctx: typer.Context,
    tenant_id: TenantId,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair", help="Release stray seats, reserve missing ones, count the allowance again."
        ),
    ] = False,
) -> None:
    """Compare seats held with active users, and the allowance as both services count it."""
    admin = session(ctx)
    drift = admin.client.reconcile_seats(tenant_id, repair=repair)
    admin.out.show({"tenant_id": tenant_id, **drift.model_dump(mode="json")}, *drift_report(drift))


def drift_report(drift: SeatDrift) -> list[str | Table]:
    """For people: the verdict, a row per user out of line, and what to do next."""
    grid = table("DRIFT", "USER")
    for label, users in (
        ("seat without an active user", drift.seats_without_active_user),
        ("active user without a seat", drift.active_users_without_seat),
        ("waiting for a seat (not drift)", drift.waiting_for_seat),
    ):
        for user in users:
            add_row(grid, label, user)
    report: list[str | Table] = [grid] if grid.row_count else []
    if not drift.allowance_in_step:
        report.append(
            f"allowance out of step: {drift.set_aside} set aside by the seats service, "
            f"{drift.allowance_unspent} held by the users service"
        )
    if drift.clean:
        report.insert(0, "no drift: every active user holds exactly one seat")
    elif drift.repair_requested:
        report.append("repair requested; run reconcile again to confirm")
    else:
        report.append("run again with --repair to fix")
    if drift.waiting_for_seat:
        report.append("the numbers settle once no create or reactivation waits for the seats service")
    return report
