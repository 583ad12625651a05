"""A service's entry point takes serve, ``--health`` or ``migrate``: anything else (a typo, ``--help``)
stops before a single connection, never starting one more instance."""

from __future__ import annotations

import pytest

from servicekit.process import check_arguments


@pytest.mark.parametrize("argv", [[], ["--health"], ["migrate"]])
def test_the_three_commands_pass(argv: list[str]) -> None:
    check_arguments("users", argv)


@pytest.mark.parametrize(
    ("argv", "status"),
    [(["migrte"], 2), (["--bogus"], 2), (["migrate", "now"], 2), (["--health", "x"], 2), (["--help"], 0)],
)
def test_anything_else_exits_with_the_usage(
    argv: list[str], status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        check_arguments("users", argv)
    assert stopped.value.code == status
    shown = capsys.readouterr()
    assert "usage: python -m services.users [--health | migrate]" in shown.out + shown.err
    if status:
        assert f"unknown arguments: {' '.join(argv)}" in shown.err
