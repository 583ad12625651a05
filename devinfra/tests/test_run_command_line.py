"""`roster-run`'s command line: a help that is plain text, every option explained with its default, and
bad values or a port in use refused before anything starts."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devinfra import ports, run


def test_help_is_plain_text_naming_each_option_and_the_environment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        run.main(["--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert "``" not in shown  # no reStructuredText markup
    for option in ("--state-dir DIR", "--port PORT", "--demo-seats N"):
        assert option in shown
    assert shown.count("(default:") == 3
    assert "SCIM_BASE_URL=" in shown and "KAFKA_BOOTSTRAP_SERVERS" in shown and "DATABASE_URL" in shown


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["--demo-seats", "-5"],
            "argument --demo-seats: '-5' is not a seat limit (a whole number from 0 to 1000000)",
        ),
        (["--port", "70000"], "argument --port: '70000' is not a port (a whole number from 0 to 65535)"),
    ],
)
def test_values_out_of_bounds_are_usage_errors_before_anything_starts(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run.main(argv)
    assert exited.value.code == 2
    assert said in capsys.readouterr().err


def test_a_gateway_port_from_the_environment_is_checked_alike(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_PORT", "abc")
    with pytest.raises(SystemExit):
        run.main([])
    assert "argument --port: 'abc' is not a port" in capsys.readouterr().err


def test_a_port_in_use_stops_the_run_before_it_starts_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another gateway there would answer the readiness wait and be asked for the demo token."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run.run(tmp_path / "state", port, 100) == 1
    assert f"127.0.0.1:{port} is in use" in capsys.readouterr().err
    assert not (tmp_path / "state").exists()


def test_a_port_another_make_run_claimed_stops_the_run_though_nothing_listens_yet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two runs started at the same moment: the second finds the port free, but claimed."""
    port = ports.free_ports(1)[0]
    assert ports.claim(port)  # the other run (a second claim, even from this process, is refused)
    try:
        assert run.run(tmp_path / "state", port, 100) == 1
    finally:
        ports.release(port)
    assert f"127.0.0.1:{port} is in use" in capsys.readouterr().err
    assert not (tmp_path / "state").exists()
