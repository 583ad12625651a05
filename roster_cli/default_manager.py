"""``default-manager`` commands: who users without a (provisioned, active) manager report to."""

from __future__ import annotations

from typing import Annotated

import typer

from roster_cli.models import DefaultManager
from roster_cli.session import Session, session
from roster_cli.tenants import TenantId

default_manager_app = typer.Typer(help="The manager of users without one.", no_args_is_help=True)


def _show(admin: Session, tenant_id: str, manager: DefaultManager) -> None:
    admin.out.show(
        {"tenant_id": tenant_id, **manager.model_dump(mode="json")},
        f"default manager: {manager.effective_id or 'none'}",
        f"  chosen by an admin: {manager.chosen_id or 'none'}",
        f"  first coach added: {manager.first_coach_id or 'none'}",
    )


@default_manager_app.command("show")
def show_default_manager(ctx: typer.Context, tenant_id: TenantId) -> None:
    """The default manager and why."""
    admin = session(ctx)
    _show(admin, tenant_id, admin.client.default_manager(tenant_id))


@default_manager_app.command("set")
def set_default_manager(
    ctx: typer.Context,
    tenant_id: TenantId,
    user_id: Annotated[str, typer.Argument(help="A user with role manager or above.")],
) -> None:
    """Choose the default manager (role manager or above)."""
    admin = session(ctx)
    _show(admin, tenant_id, admin.client.set_default_manager(tenant_id, user_id))


@default_manager_app.command("clear")
def clear_default_manager(ctx: typer.Context, tenant_id: TenantId) -> None:
    """Forget the choice: the first Coach added is the default again."""
    admin = session(ctx)
    _show(admin, tenant_id, admin.client.set_default_manager(tenant_id, None))
