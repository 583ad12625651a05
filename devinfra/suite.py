"""``make test``'s pytest: the suite as two pytest sessions side by side.

Most of the slowest tests wait rather than compute: a JVM, a container or a consumer group starting,
a broker frozen or killed. The tests that bring up infrastructure of their own (containers, their own
brokers or clusters, ``make run``) form the *isolated* session; everything else — the tiers on the
shared broker, the shared end-to-end stack and the pure rules — the *shared* session. Each session has
its own session-scoped servers, so neither sees the other's brokers, databases or consumer groups.

The shared session prints as it goes; the isolated one writes to a log printed whole when it ends.
The exit status is 0 only when both sessions passed (else the shared session's, then the isolated's).

    python -m devinfra.suite                 # both sessions
    python -m devinfra.suite [pytest args]   # one ordinary pytest session with these arguments
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Tests that start what they need themselves; none uses the shared session's broker or stack. The
# schema migration tests start their own processes on their own databases and no broker, and the
# several-gateways tests add gateways to a stack of this session's own: they run here to even out the
# two sessions' wall time (the shared one is the longer).
ISOLATED = (
    "tests/containers",
    "tests/test_concurrent_first_start.py",
    "tests/test_gateways_e2e.py",
    "tests/test_kafka_cluster_bootstrap.py",
    "tests/test_kafka_full_outage.py",
    "tests/test_kafka_outage_e2e.py",
    "tests/test_make_run.py",
    "tests/test_migrate_cli.py",
    "tests/test_postgres_restart_e2e.py",
    "tests/test_saga_faults_e2e.py",
    "tests/test_schema_migrations.py",
    "tests/test_secured_kafka_e2e.py",
    "tests/test_traces_e2e.py",
)
DURATIONS = "--durations=15"


def _pytest(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *args]


def _run_both() -> int:
    log_path = Path(tempfile.mkdtemp(prefix="roster-suite-")) / "isolated.log"
    started = time.monotonic()
    with log_path.open("w") as log:
        isolated = subprocess.Popen(
            _pytest(DURATIONS, *ISOLATED), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        print(
            f"isolated session (pid {isolated.pid}): {' '.join(ISOLATED)}; its output: {log_path}", flush=True
        )
        ignored = [f"--ignore={path}" for path in ISOLATED]
        shared = subprocess.Popen(_pytest(DURATIONS, *ignored), cwd=ROOT)
        try:
            shared_status = shared.wait()
            isolated_status = isolated.wait()
        except KeyboardInterrupt:
            for session in (shared, isolated):
                session.send_signal(signal.SIGINT)  # pytest stops and runs its teardowns
            shared.wait()
            isolated.wait()
            raise
    print(f"\n{'=' * 30} isolated session {'=' * 30}", flush=True)
    print(log_path.read_text(), flush=True)
    elapsed = time.monotonic() - started
    print(f"suite: shared session exit {shared_status}, isolated exit {isolated_status}, {elapsed:.0f} s")
    return shared_status or isolated_status


def main() -> None:
    arguments = sys.argv[1:]
    if arguments:
        sys.exit(subprocess.call(_pytest(DURATIONS, *arguments), cwd=ROOT))
    sys.exit(_run_both())


if __name__ == "__main__":
    main()
