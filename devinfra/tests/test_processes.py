"""How ``make run`` says a process ended."""

from __future__ import annotations

import pytest

from devinfra.processes import how_it_ended


@pytest.mark.parametrize(
    ("returncode", "said"),
    [(-9, "killed by SIGKILL"), (-15, "killed by SIGTERM"), (3, "exit status 3"), (0, "exit status 0")],
)
def test_an_ended_process_is_named_by_its_signal_or_exit_status(returncode: int, said: str) -> None:
    assert how_it_ended(returncode) == said
