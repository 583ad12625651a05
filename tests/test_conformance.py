"""Third-party conformance suites against the live stack (scim2-cli/scim2-tester and scim-sanity)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stack import Stack

pytestmark = [pytest.mark.slow]


def _tool(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} is not installed (it is a dev dependency in uv.lock)"
    return found


def test_scim2_tester_reports_no_failure_for_users_and_groups(stack: Stack) -> None:
    tenant = stack.new_tenant("scim2-tester")
    # The token goes through the environment, not the command line other users could read.
    env = {**os.environ, "SCIM_CLI_HEADERS": f"Authorization: Bearer {tenant.token}"}
    result = subprocess.run(
        [_tool("scim2"), "--url", stack.base_url, "test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    failures = [line for line in output.splitlines() if re.match(r"^(ERROR|CRITICAL)\b", line)]
    assert result.returncode == 0 and not failures, output[-4000:]
    assert len(re.findall(r"^SUCCESS", output, re.MULTILINE)) >= 100, output[-2000:]
    for checked in ("created Group object", "replaced Group object", "deleted Group object"):
        assert f"Successfully {checked}" in output, output[-2000:]


# scim-sanity adds the member id "fake-member-id" to a group and expects 200. Roster refuses a member
# that is not a user of the tenant with 400 invalidValue naming it: a silently accepted typo would leave
# the team short of a member with nobody told (docs/scim-clients.md, "Groups"). That one check is
# expected to fail.
_DELIBERATE = "Group member PATCH rejected — server enforces referential integrity on member ids"


def test_scim_sanity_probe_passes_every_check_but_unknown_members(stack: Stack) -> None:
    tenant = stack.new_tenant("scim-sanity")
    result = subprocess.run(
        [_tool("scim-sanity"), "probe", stack.base_url, "--token", tenant.token, "--i-accept-side-effects"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    summary = re.search(r"(\d+) passed, (?:(\d+) failed, )?(\d+) skipped", output)
    assert summary, output[-4000:]
    failed = [line.strip() for line in output.splitlines() if line.strip().startswith("[FAIL]")]
    assert len(failed) == int(summary.group(2) or 0) <= 1, output[-4000:]
    assert not failed or _DELIBERATE in output, output[-4000:]
    assert int(summary.group(1)) >= 27
