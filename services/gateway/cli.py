"""``roster-admin``: the admin API's command-line client.

Connection: ``--url`` / ``ROSTER_ADMIN_URL`` (default http://127.0.0.1:8000) and ``--token`` /
``ROSTER_ADMIN_TOKEN`` (else the file ``var/admin-token`` that ``make run`` writes).
Errors are one line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
TOKEN_FILE = Path("var/admin-token")


class CliError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roster-admin", description="Administer Roster tenants.")
    parser.add_argument("--url", default=os.environ.get("ROSTER_ADMIN_URL", DEFAULT_URL))
    parser.add_argument("--token", default=os.environ.get("ROSTER_ADMIN_TOKEN"))
    groups = parser.add_subparsers(dest="group", required=True)
    tenant = groups.add_parser("tenant", help="tenants").add_subparsers(dest="action", required=True)
    create = tenant.add_parser("create", help="create a tenant and print its first SCIM token")
    create.add_argument("name")
    create.add_argument("--no-token", action="store_true", help="do not issue a token yet")
    create.add_argument("--seats", type=int, help="the seat limit (default: the seats service's default)")
    tenant.add_parser("list", help="list tenants")
    token = groups.add_parser("token", help="SCIM tokens").add_subparsers(dest="action", required=True)
    for action, text in (
        ("issue", "issue an additional token (printed once)"),
        ("rotate", "revoke every token and issue a new one (printed once)"),
        ("revoke", "revoke every token of the tenant"),
    ):
        token.add_parser(action, help=text).add_argument("tenant_id")
    seats = groups.add_parser("seats", help="seat limits").add_subparsers(dest="action", required=True)
    seats.add_parser("show", help="seats used / limit").add_argument("tenant_id")
    set_limit = seats.add_parser("set", help="change the seat limit (lowering it deprovisions nobody)")
    set_limit.add_argument("tenant_id")
    set_limit.add_argument("limit", type=int)
    check = seats.add_parser("reconcile", help="compare seats held with active users")
    check.add_argument("tenant_id")
    check.add_argument("--repair", action="store_true", help="release stray seats, reserve missing ones")
    _team_parsers(groups)
    _default_manager_parsers(groups)
    return parser


def _team_parsers(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    team = groups.add_parser("team", help="teams").add_subparsers(dest="action", required=True)
    listing = team.add_parser("list", help="list teams with their members")
    listing.add_argument("tenant_id")
    listing.add_argument(
        "--source", choices=["manager", "portal", "scim"], help="only teams from this source"
    )
    create = team.add_parser("create", help="create a portal team")
    create.add_argument("tenant_id")
    create.add_argument("name")
    create.add_argument("--member", dest="members", action="extend", nargs="+", default=[], metavar="USER_ID")
    rename = team.add_parser("rename", help="rename a portal team")
    rename.add_argument("tenant_id")
    rename.add_argument("team_id")
    rename.add_argument("name")
    release = team.add_parser(
        "release", help="hand a team the IdP no longer manages back to the portal (after Okta's unlink)"
    )
    release.add_argument("tenant_id")
    release.add_argument("team_id")
    delete = team.add_parser("delete", help="delete a portal team (its users stay)")
    delete.add_argument("tenant_id")
    delete.add_argument("team_id")
    members = team.add_parser("members", help="add or remove members of a portal team")
    members.add_argument("tenant_id")
    members.add_argument("team_id")
    members.add_argument("--add", action="extend", nargs="+", default=[], metavar="USER_ID")
    members.add_argument("--remove", action="extend", nargs="+", default=[], metavar="USER_ID")


def _default_manager_parsers(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    manager = groups.add_parser("default-manager", help="the manager of users without one")
    actions = manager.add_subparsers(dest="action", required=True)
    actions.add_parser("show", help="the default manager and why").add_argument("tenant_id")
    choose = actions.add_parser("set", help="choose the default manager (role manager or above)")
    choose.add_argument("tenant_id")
    choose.add_argument("user_id")
    clear = actions.add_parser("clear", help="forget the choice: the first Coach added is the default again")
    clear.add_argument("tenant_id")


def _admin_token(explicit: str | None) -> str:
    if explicit:
        return explicit
    if TOKEN_FILE.exists():
        return TOKEN_FILE.read_text().strip()
    raise CliError("no admin token: pass --token, set ROSTER_ADMIN_TOKEN, or start Roster with `make run`")


def _call(client: httpx.Client, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    try:
        response = client.request(method, f"/admin/v1{path}", json=body)
    except httpx.HTTPError as error:
        raise CliError(f"cannot reach the Roster gateway at {client.base_url}: {error}") from None
    if response.is_error:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise CliError(f"{response.status_code}: {detail}")
    return response.json() if response.content else None


def _tenant_command(args: argparse.Namespace, client: httpx.Client) -> list[str]:
    if args.action == "list":
        lines = []
        for t in _call(client, "GET", "/tenants"):
            try:
                seats = _call(client, "GET", f"/tenants/{t['id']}/seats")
                used = f"{seats['used']}/{seats['limit']}"
            except CliError:
                used = "unavailable"  # the seats service is down: still list the tenants
            lines.append(
                f"{t['id']}\t{t['name']}\tseats={used}\tactive_tokens={t['active_tokens']}\t{t['created_at']}"
            )
        return lines
    tenant = _call(client, "POST", "/tenants", {"name": args.name})
    lines = [f"TENANT_ID={tenant['id']}"]
    if args.seats is not None:
        seats = _call(client, "PUT", f"/tenants/{tenant['id']}/seats", {"limit": args.seats})
        lines.append(f"SEATS={seats['used']}/{seats['limit']}")
    if not args.no_token:
        issued = _call(client, "POST", f"/tenants/{tenant['id']}/tokens")
        lines.append(f"SCIM_TOKEN={issued['token']}")
    return lines


def _token_command(args: argparse.Namespace, client: httpx.Client) -> list[str]:
    path = f"/tenants/{args.tenant_id}/tokens"
    if args.action == "revoke":
        return [f"revoked {_call(client, 'DELETE', path)['revoked']} token(s)"]
    issued = _call(client, "POST", path + ("/rotate" if args.action == "rotate" else ""))
    return [f"SCIM_TOKEN={issued['token']}"]


def _seats_command(args: argparse.Namespace, client: httpx.Client) -> list[str]:
    path = f"/tenants/{args.tenant_id}/seats"
    if args.action in ("show", "set"):
        body = {"limit": args.limit} if args.action == "set" else None
        seats = _call(client, "PUT" if body else "GET", path, body)
        return [f"seats used {seats['used']} of {seats['limit']}"]
    drift = _call(client, "POST", f"{path}/reconcile?repair={'true' if args.repair else 'false'}")
    lines = [f"seat without an active user: {user}" for user in drift["seats_without_active_user"]]
    lines += [f"active user without a seat: {user}" for user in drift["active_users_without_seat"]]
    if not lines:
        return ["no drift: every active user holds exactly one seat"]
    done = "repair requested; run reconcile again to confirm" if drift["repair_requested"] else ""
    return [*lines, done or "run again with --repair to fix"]


def _team_lines(team: dict[str, Any]) -> list[str]:
    linked = "linked" if team["linked"] else "not-linked"
    leader = team["leader_id"] or "-"
    header = (
        f"{team['id']}\t{team['display_name']}\tsource={team['source']}\t{linked}\tleader={leader}"
        f"\tmembers={team['member_count']}"
    )
    members = team["members"] or []
    return [header, *(f"  member {m['user_id']}\t{m['display'] or ''}".rstrip() for m in members)]


def _all_teams(client: httpx.Client, path: str, *, source: str | None) -> list[dict[str, Any]]:
    """Every page of the admin listing (a page may be cut short where its members fill a reply)."""
    teams: list[dict[str, Any]] = []
    while True:
        query = f"?startIndex={len(teams) + 1}" + (f"&source={source}" if source else "")
        page = _call(client, "GET", path + query)
        teams += page["teams"]
        if not page["teams"] or len(teams) >= page["total_results"]:
            return teams


def _team_command(args: argparse.Namespace, client: httpx.Client) -> list[str]:
    path = f"/tenants/{args.tenant_id}/teams"
    if args.action == "list":
        teams = _all_teams(client, path, source=args.source)
        return [line for team in teams for line in _team_lines(team)] or ["no teams"]
    if args.action == "create":
        team = _call(client, "POST", path, {"display_name": args.name, "member_ids": args.members})
        return [f"TEAM_ID={team['id']}", *_team_lines(team)[:1]]
    if args.action == "delete":
        _call(client, "DELETE", f"{path}/{args.team_id}")
        return [f"deleted team {args.team_id}"]
    if args.action == "release":
        return _team_lines(_call(client, "POST", f"{path}/{args.team_id}/release"))[:1]
    if args.action == "rename":
        team = _call(client, "PATCH", f"{path}/{args.team_id}", {"display_name": args.name})
    else:
        if not (args.add or args.remove):
            raise CliError("nothing to change: pass --add USER_ID ... and/or --remove USER_ID ...")
        body = {"add": args.add, "remove": args.remove}
        team = _call(client, "POST", f"{path}/{args.team_id}/members", body)
    return _team_lines(team)[:1]


def _default_manager_command(args: argparse.Namespace, client: httpx.Client) -> list[str]:
    path = f"/tenants/{args.tenant_id}/default-manager"
    if args.action == "show":
        manager = _call(client, "GET", path)
    else:
        manager = _call(client, "PUT", path, {"user_id": args.user_id if args.action == "set" else None})
    return [
        f"default manager: {manager['effective_id'] or 'none'}",
        f"  chosen by an admin: {manager['chosen_id'] or 'none'}",
        f"  first coach added: {manager['first_coach_id'] or 'none'}",
    ]


def _run(args: argparse.Namespace, client: httpx.Client) -> list[str]:
    commands = {
        "tenant": _tenant_command,
        "token": _token_command,
        "seats": _seats_command,
        "team": _team_command,
        "default-manager": _default_manager_command,
    }
    return commands[args.group](args, client)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        headers = {"Authorization": f"Bearer {_admin_token(args.token)}"}
        with httpx.Client(base_url=args.url, headers=headers, timeout=30) as client:
            for line in _run(args, client):
                print(line)
    except CliError as error:
        print(f"roster-admin: {error}", file=sys.stderr)
        return 1
    return 0


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
