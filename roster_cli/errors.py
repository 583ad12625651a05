"""Exit codes and the one error type every command raises; each error is one line on stderr."""

from __future__ import annotations

from enum import IntEnum

import typer


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    CONFLICT = 4
    UNAVAILABLE = 5
    UNAUTHORIZED = 6
    REFUSED = 7


EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "done",
    ExitCode.ERROR: "any other error",
    ExitCode.USAGE: "wrong command line",
    ExitCode.NOT_FOUND: "no such tenant, team, user, token or dead letter (404)",
    ExitCode.CONFLICT: "conflict, e.g. the tenant name is taken, the dead letter already replayed (409)",
    ExitCode.UNAVAILABLE: "gateway or service unavailable (502, 503, 504, refused connection, timeout)",
    ExitCode.UNAUTHORIZED: "no or wrong admin token (401)",
    ExitCode.REFUSED: "the gateway refused the input (400, 413, 422)",
}

_EXIT_CODE_FOR_STATUS = {
    400: ExitCode.REFUSED,
    401: ExitCode.UNAUTHORIZED,
    404: ExitCode.NOT_FOUND,
    409: ExitCode.CONFLICT,
    413: ExitCode.REFUSED,
    422: ExitCode.REFUSED,
    502: ExitCode.UNAVAILABLE,
    503: ExitCode.UNAVAILABLE,
    504: ExitCode.UNAVAILABLE,
}


def exit_code_for_status(status: int) -> ExitCode:
    return _EXIT_CODE_FOR_STATUS.get(status, ExitCode.ERROR)


class AdminError(Exception):
    """What went wrong, as one line for stderr, and the exit code that classifies it."""

    def __init__(self, message: str, exit_code: ExitCode, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.status = status

    def reworded(self, message: str) -> AdminError:
        return AdminError(message, self.exit_code, status=self.status)

    def report(self) -> None:
        typer.echo(f"roster-admin: {self.message}", err=True)
