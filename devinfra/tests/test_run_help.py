"""`roster-run --help` is read in a terminal: plain text, every option explained with its default."""

from __future__ import annotations

import pytest

from devinfra import run


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
