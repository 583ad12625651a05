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
    tenant.add_parser("list", help="list tenants")
    token = groups.add_parser("token", help="SCIM tokens").add_subparsers(dest="action", required=True)
    for action, text in (
        ("issue", "issue an additional token (printed once)"),
        ("rotate", "revoke every token and issue a new one (printed once)"),
        ("revoke", "revoke every token of the tenant"),
    ):
        token.add_parser(action, help=text).add_argument("tenant_id")
    return parser


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
    return response.json()


def _run(args: argparse.Namespace, client: httpx.Client) -> list[str]:
    if args.group == "tenant" and args.action == "create":
        tenant = _call(client, "POST", "/tenants", {"name": args.name})
        lines = [f"TENANT_ID={tenant['id']}"]
        if not args.no_token:
            issued = _call(client, "POST", f"/tenants/{tenant['id']}/tokens")
            lines.append(f"SCIM_TOKEN={issued['token']}")
        return lines
    if args.group == "tenant":
        rows = _call(client, "GET", "/tenants")
        return [
            f"{t['id']}\t{t['name']}\tactive_tokens={t['active_tokens']}\t{t['created_at']}" for t in rows
        ]
    path = f"/tenants/{args.tenant_id}/tokens"
    if args.action == "revoke":
        return [f"revoked {_call(client, 'DELETE', path)['revoked']} token(s)"]
    issued = _call(client, "POST", path + ("/rotate" if args.action == "rotate" else ""))
    return [f"SCIM_TOKEN={issued['token']}"]


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
