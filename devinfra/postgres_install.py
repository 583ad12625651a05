"""Debian's PostgreSQL server binaries, installed with apt on first use, and the ``postgres`` OS user
that runs a ``LocalPostgres`` (``devinfra/postgres.py``) when the caller is root."""

from __future__ import annotations

import fcntl
import os
import pwd
import stat
import subprocess
import tempfile
from pathlib import Path

PG_LIB_DIR = Path("/usr/lib/postgresql")
OS_USER = "postgres"

_INSTALL_LOCK = Path(tempfile.gettempdir()) / "devinfra-postgres-install.lock"


def _version_key(name: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return None


def _find_bin_dir() -> Path | None:
    if not PG_LIB_DIR.is_dir():
        return None
    candidates: list[tuple[tuple[int, ...], Path]] = []
    for version_dir in PG_LIB_DIR.iterdir():
        key = _version_key(version_dir.name)
        bin_dir = version_dir / "bin"
        if key is not None and all((bin_dir / tool).is_file() for tool in ("initdb", "pg_ctl")):
            candidates.append((key, bin_dir))
    return max(candidates)[1] if candidates else None


def _apt_install_postgres() -> None:
    if os.geteuid() != 0:
        raise RuntimeError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql and we are not "
            "root; install them with: sudo apt-get install -y postgresql"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Other apt users (unattended-upgrades) may hold the dpkg lock; wait instead of failing.
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=600"]
    subprocess.run([*apt, "update"], check=True, env=env)
    subprocess.run([*apt, "install", "-y", "postgresql"], check=True, env=env)


def ensure_postgres_installed() -> Path:
    """Return the newest ``/usr/lib/postgresql/<ver>/bin``, installing PostgreSQL if needed."""
    bin_dir = _find_bin_dir()
    if bin_dir is not None:
        return bin_dir
    # Parallel test workers on a fresh machine must not race each other into apt-get.
    with _INSTALL_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        bin_dir = _find_bin_dir()
        if bin_dir is None:
            _apt_install_postgres()
            bin_dir = _find_bin_dir()
    if bin_dir is None:
        raise RuntimeError(f"apt-get installed postgresql but no initdb/pg_ctl under {PG_LIB_DIR}")
    return bin_dir


def ensure_os_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(OS_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--shell",
                "/bin/false",
                OS_USER,
            ],
            check=True,
        )
        return pwd.getpwnam(OS_USER)


def first_untraversable(path: Path, user: pwd.struct_passwd) -> Path | None:
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    for directory in reversed(path.parents):
        st = directory.stat()
        if st.st_uid == user.pw_uid:
            allowed = st.st_mode & stat.S_IXUSR
        elif st.st_gid in groups:
            allowed = st.st_mode & stat.S_IXGRP
        else:
            allowed = st.st_mode & stat.S_IXOTH
        if not allowed:
            return directory
    return None
