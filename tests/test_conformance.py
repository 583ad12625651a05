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


def test_scim2_tester_reports_no_failure_for_users(stack: Stack) -> None:
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


def test_scim_sanity_probe_passes_every_user_search_and_error_check(stack: Stack) -> None:
    tenant = stack.new_tenant("scim-sanity")
    result = subprocess.run(
        [_tool("scim-sanity"), "probe", stack.base_url, "--token", tenant.token, "--i-accept-side-effects"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    summary = re.search(r"(\d+) passed, (?:(\d+) failed, )?(\d+) skipped", output)
    assert result.returncode == 0 and summary, output[-4000:]
    assert "[FAIL]" not in output and "All tests passed" in output, output[-4000:]
    assert int(summary.group(1)) >= 18
