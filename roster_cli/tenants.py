"""``tenant`` and ``token`` commands."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated

import typer

from roster_cli.errors import AdminError, ExitCode
from roster_cli.models import MAX_SEATS, IssuedToken, SeatUsage, Tenant
from roster_cli.output import JsonDocument, add_row, table
from roster_cli.session import Session, session

tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
token_app = typer.Typer(help="SCIM tokens (each printed once, when issued).", no_args_is_help=True)

TenantId = Annotated[str, typer.Argument(help="The tenant's id (TENANT_ID).")]


@dataclass(frozen=True)
class _Step:
    what: str
    command: tuple[str, ...]  # the roster-admin command that does the same, to finish by hand
    action: Callable[[], None]


@dataclass
class _Creation:
    """A tenant created step by step; each step prints its result the moment it is done."""

    admin: Session
    tenant: Tenant
    seats: SeatUsage | None = None
    token: IssuedToken | None = None
    unfinished: list[str] = field(default_factory=list)

    def set_seats(self, limit: int) -> None:
        self.seats = self.admin.client.set_seats(self.tenant.id, limit)
        self.admin.out.line(f"SEATS={self.seats.used}/{self.seats.limit}")

    def issue_token(self) -> None:
        self.token = self.admin.client.issue_token(self.tenant.id)
        # The tenant as read at its creation had none; --json shows it as it is now.
        self.tenant = self.tenant.model_copy(update={"active_tokens": self.tenant.active_tokens + 1})
        self.admin.out.line(f"SCIM_TOKEN={self.token.token}")

    def run(self, steps: list[_Step]) -> None:
        """Every step, each on its own (a seats service that does not answer does not keep the gateway
        from issuing the token); what failed is left to the admin, with the commands to run."""
        failed: list[tuple[_Step, AdminError]] = []
        for step in steps:
            try:
                step.action()
            except AdminError as error:
                failed.append((step, error))
        if not failed:
            return
        self.unfinished = [self.admin.command_line(*step.command) for step, _ in failed]
        self.admin.out.show(self.document())
        outcomes = "; ".join(f"{step.what} {_outcome(error)}" for step, error in failed)
        created = f"tenant {self.tenant.id} created, but {outcomes}"
        raise failed[0][1].reworded(f"{created}; to finish: {' && '.join(self.unfinished)}") from None

    def document(self) -> JsonDocument:
        return {
            "tenant": self.tenant.model_dump(mode="json"),
            "seats": self.seats.model_dump(mode="json", exclude={"tenant_id"}) if self.seats else None,
            "scim_token": self.token.token if self.token else None,
            "unfinished": self.unfinished,
        }


def _outcome(error: AdminError) -> str:
    reason = error.message.rstrip(".")  # a 5xx detail ends with "Request id: <id>."
    if error.status == 503:  # the command may still be applied once its service answers
        return f"was not confirmed (it may still apply once the service answers): {reason}"
    return f"failed: {reason}"


def _holder_of(admin: Session, name: str) -> Tenant | None:
    """The tenant whose name a new one conflicts with (the gateway compares names case-insensitively)."""
    wanted = name.strip()
    try:
        same = [t for t in admin.client.tenants() if t.name.lower() == wanted.lower()]
    except AdminError:
        return None
    return min(same, key=lambda tenant: tenant.name != wanted, default=None)


def _create(admin: Session, name: str) -> Tenant:
    """The new tenant. A name already taken is a conflict that still prints the id of the tenant holding
    it first, as a creation would: a script rerunning ``tenant create`` gets the same id."""
    try:
        return admin.client.create_tenant(name)
    except AdminError as error:
        if error.status != 409:
            raise
        holder = _holder_of(admin, name)
        if holder is None:
            raise
        admin.out.line(holder.id)
        admin.out.show(_Creation(admin, holder).document())
        raise error.reworded(f"{error.message}: tenant {holder.id}") from None


@tenant_app.command("create")
def create_tenant(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The tenant's name, unique case-insensitively.")],
    no_token: Annotated[bool, typer.Option("--no-token", help="Do not issue a SCIM token yet.")] = False,
    seats: Annotated[
        int | None,
        typer.Option(min=0, max=MAX_SEATS, help="The seat limit (default: the seats service's default)."),
    ] = None,
) -> None:
    """Create a tenant: its id alone on the first line, then SEATS=… and SCIM_TOKEN=… (shown once).

    If a later step fails, the tenant stays and the error names the commands that finish it. A name
    already taken prints the id of the tenant holding it and exits with 4.
    """
    admin = session(ctx)
    creation = _Creation(admin, _create(admin, name))
    admin.out.line(creation.tenant.id)
    tenant_id, steps = creation.tenant.id, []
    if seats is not None:
        command = ("seats", "set", tenant_id, str(seats))
        steps.append(_Step("setting the seat limit", command, partial(creation.set_seats, seats)))
    if not no_token:
        steps.append(_Step("issuing its SCIM token", ("token", "issue", tenant_id), creation.issue_token))
    creation.run(steps)
    admin.out.show(creation.document())


@tenant_app.command("list")
def list_tenants(ctx: typer.Context) -> None:
    """Every tenant with its seats used / limit and active tokens."""
    admin = session(ctx)
    rows: list[tuple[Tenant, SeatUsage | None]] = []
    seats_reachable = True
    for tenant in admin.client.tenants():
        usage = None
        if seats_reachable:  # the seats service down: list the tenants anyway, without waiting per tenant
            try:
                usage = admin.client.seats(tenant.id)
            except AdminError as error:
                seats_reachable = error.exit_code != ExitCode.UNAVAILABLE
        rows.append((tenant, usage))
    grid = table("ID", "NAME", "SEATS", "TOKENS", "CREATED")
    for tenant, usage in rows:
        used = f"{usage.used}/{usage.limit}" if usage else "unavailable"
        created = tenant.created_at.isoformat(timespec="seconds")
        add_row(grid, tenant.id, tenant.name, used, tenant.active_tokens, created)
    document = {"tenants": [_tenant_document(tenant, usage) for tenant, usage in rows]}
    admin.out.show(document, grid if rows else "no tenants")


def _tenant_document(tenant: Tenant, usage: SeatUsage | None) -> JsonDocument:
    seats = usage.model_dump(mode="json", exclude={"tenant_id"}) if usage else None
    return {**tenant.model_dump(mode="json"), "seats": seats}


def _show_token(admin: Session, issued: IssuedToken) -> None:
    admin.out.show({"tenant_id": issued.tenant_id, "scim_token": issued.token}, f"SCIM_TOKEN={issued.token}")


@token_app.command("issue")
def issue_token(ctx: typer.Context, tenant_id: TenantId) -> None:
    """Issue an additional token, for a switch-over without downtime."""
    admin = session(ctx)
    _show_token(admin, admin.client.issue_token(tenant_id))


@token_app.command("rotate")
def rotate_token(ctx: typer.Context, tenant_id: TenantId) -> None:
    """Revoke every token of the tenant and issue a new one."""
    admin = session(ctx)
    _show_token(admin, admin.client.rotate_token(tenant_id))


@token_app.command("list")
def list_tokens(ctx: typer.Context, tenant_id: TenantId) -> None:
    """The tokens in force, oldest first: their ids and when they were issued (never the tokens)."""
    admin = session(ctx)
    active = admin.client.tokens(tenant_id)
    grid = table("ID", "ISSUED")
    for token in active.tokens:
        add_row(grid, token.id, token.created_at.isoformat(timespec="seconds"))
    admin.out.show(active.model_dump(mode="json"), grid if active.tokens else "no tokens in force")


@token_app.command("revoke")
def revoke_tokens(
    ctx: typer.Context,
    tenant_id: TenantId,
    token_id: Annotated[
        int | None, typer.Option("--id", min=1, help="Only this token (an ID of `token list`).")
    ] = None,
) -> None:
    """Revoke every token of the tenant, or with --id only that one."""
    admin = session(ctx)
    if token_id is not None:
        one = admin.client.revoke_token(tenant_id, token_id)
        admin.out.show(one.model_dump(mode="json"), f"revoked token {one.token_id}")
        return
    revoked = admin.client.revoke_tokens(tenant_id)
    admin.out.show(revoked.model_dump(mode="json"), f"revoked {revoked.revoked} token(s)")
