"""The ``roster-admin`` command: global options, the command groups, and exit codes."""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from roster_cli.activity import show_activity
from roster_cli.client import REQUEST_TIMEOUT_SECONDS
from roster_cli.default_manager import default_manager_app
from roster_cli.dlq import dlq_app
from roster_cli.errors import EXIT_CODE_MEANINGS, AdminError
from roster_cli.output import Output
from roster_cli.seats import seats_app
from roster_cli.session import DEFAULT_URL, PROGRAM, Session
from roster_cli.teams import team_app
from roster_cli.tenants import tenant_app, token_app

EXIT_CODES_HELP = "Exit codes:\n" + "\n".join(
    f"{int(code)}  {meaning}" for code, meaning in EXIT_CODE_MEANINGS.items()
)


class _ReportingGroup(TyperGroup):
    """Turns an ``AdminError`` from any command into one line on stderr and its exit code."""

    def invoke(self, ctx: Any) -> Any:  # Any: Typer's own Context type lives in a private module
        try:
            return super().invoke(ctx)
        except AdminError as error:
            error.report()
            raise typer.Exit(error.exit_code) from None


app = typer.Typer(
    name=PROGRAM,
    cls=_ReportingGroup,
    help="Administer Roster tenants, read their activity and operate dead letters through the gateway's"
    " admin API (/admin/v1).",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals hold the admin token
)
app.add_typer(tenant_app, name="tenant")
app.add_typer(token_app, name="token")
app.add_typer(seats_app, name="seats")
app.add_typer(team_app, name="team")
app.add_typer(default_manager_app, name="default-manager")
app.add_typer(dlq_app, name="dlq")
app.command("activity")(show_activity)


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"{PROGRAM} {version('roster')}")
        raise typer.Exit()


@app.callback()
def connect(
    ctx: typer.Context,
    url: Annotated[
        str,
        typer.Option(
            "--gateway-url",
            "--url",
            envvar=["ROSTER_GATEWAY_URL", "ROSTER_ADMIN_URL"],
            help="The gateway serving the admin API.",
        ),
    ] = DEFAULT_URL,
    token: Annotated[
        str | None,
        typer.Option(
            "--admin-token",
            "--token",
            envvar="ROSTER_ADMIN_TOKEN",
            show_default=False,
            help="The admin token; without it, the file $ROSTER_STATE_DIR/admin-token (var/admin-token).",
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            min=0.1,
            max=3600,
            envvar="ROSTER_ADMIN_TIMEOUT",
            help="Seconds to wait for each answer before giving up (exit code 5).",
        ),
    ] = REQUEST_TIMEOUT_SECONDS,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON document on stdout instead of tables and lines.")
    ] = False,
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    session = Session(url=url, token=_given_token(ctx, token), timeout=timeout, out=Output(as_json=as_json))
    ctx.obj = session
    ctx.call_on_close(session.close)


def _given_token(ctx: typer.Context, token: str | None) -> str | None:
    """A blank ``--admin-token`` is a mistake to report, not a reason to fall back on the token file
    (whose owner may be another deployment); a blank ``ROSTER_ADMIN_TOKEN`` counts as unset, as
    shells and compose files leave variables they declare without a value."""
    if token is None or token.strip():
        return token
    source = ctx.get_parameter_source("token")
    # By name: Typer bundles its own click, whose ParameterSource lives in a private module.
    if source is not None and source.name == "COMMANDLINE":
        raise typer.BadParameter("is empty; pass the admin token itself", param_hint="'--admin-token'")
    return None


def main() -> None:
    app(prog_name=PROGRAM)
