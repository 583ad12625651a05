"""One invocation's connection settings and output mode, shared by every command through Typer's context."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import typer

from roster_cli.client import AdminClient
from roster_cli.errors import AdminError, ExitCode
from roster_cli.output import Output

DEFAULT_URL = "http://127.0.0.1:8000"
PROGRAM = "roster-admin"


def token_file() -> Path:
    """Where ``make run`` keeps the admin token: ``$ROSTER_STATE_DIR/admin-token``, ``var/`` by default."""
    return Path(os.environ.get("ROSTER_STATE_DIR", "var")) / "admin-token"


def admin_token(explicit: str | None) -> str:
    if explicit:
        return explicit
    path = token_file()
    if path.is_file():
        if token := path.read_text().strip():
            return token
        raise AdminError(f"the admin token file {path} is empty", ExitCode.UNAUTHORIZED)
    message = (
        "no admin token: pass --admin-token, set ROSTER_ADMIN_TOKEN,"
        f" or start Roster with `make run` (it writes {path})"
    )
    raise AdminError(message, ExitCode.UNAUTHORIZED)


@dataclass
class Session:
    url: str
    token: str | None
    timeout: float
    out: Output
    _client: AdminClient | None = field(default=None, init=False)

    @property
    def client(self) -> AdminClient:
        """Made on first use, so ``--help`` of a command needs no token."""
        if self._client is None:
            self._client = AdminClient(url=self.url, token=admin_token(self.token), timeout=self.timeout)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def command_line(self, *args: str) -> str:
        """A command to run next, exactly: against the same gateway, quoted for a POSIX shell."""
        target = ["--gateway-url", self.url] if self.url != DEFAULT_URL else []
        return shlex.join([PROGRAM, *target, *args])


def session(ctx: typer.Context) -> Session:
    found = ctx.find_object(Session)
    assert found is not None, "the root callback puts a Session into the context"
    return found
