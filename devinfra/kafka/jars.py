"""The broker's jars: resolved from Maven Central by ``mvn`` once, from the jars ``pom.xml`` names,
into ``<cache>/kafka-jars/<sha256 of the pom>/`` (``<cache>``: ``$ROSTER_CACHE_DIR`` or
``<repo>/.cache``). A changed pom resolves afresh; an unchanged one never again."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from devinfra.kafka.errors import KafkaError

KAFKA_POM = Path(__file__).resolve().with_name("pom.xml")

_REPO_ROOT = Path(__file__).resolve().parents[2]
_COMPLETE_MARKER = ".complete"


def kafka_cache_dir() -> Path:
    """Root of devinfra's download cache: ``$ROSTER_CACHE_DIR`` or ``<repo>/.cache``."""
    configured = os.environ.get("ROSTER_CACHE_DIR")
    return Path(configured) if configured else _REPO_ROOT / ".cache"


def kafka_classpath() -> list[Path]:
    """Return the broker's jars, resolving them from Maven Central on first use."""
    digest = hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()
    target = kafka_cache_dir() / "kafka-jars" / digest
    if not (target / _COMPLETE_MARKER).is_file():
        _resolve_jars(target)
    jars = sorted(target.glob("*.jar"))
    if not jars:
        raise KafkaError(f"no jars in {target}; delete it to resolve them again")
    return jars


def _resolve_jars(target: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaError("Maven (`mvn`) is needed to fetch the Kafka jars; install maven")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Resolve into a private directory and rename it into place, so that concurrent
    # callers never see a partial copy and an interrupted download is simply redone.
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name[:12]}-", dir=target.parent))
    staging.chmod(0o755)
    try:
        command = [
            *(mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(KAFKA_POM)),
            *("dependency:copy-dependencies", "-DincludeScope=runtime"),
            f"-DoutputDirectory={staging}",
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not any(staging.glob("*.jar")):
            output = (result.stdout + result.stderr).strip()[-4000:]
            raise KafkaError(f"resolving Kafka jars failed ({result.returncode}):\n{output}")
        (staging / _COMPLETE_MARKER).write_text(f"{KAFKA_POM}\n")
        _move_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_into_place(staging: Path, target: Path) -> None:
    if target.exists() and not (target / _COMPLETE_MARKER).is_file():
        shutil.rmtree(target, ignore_errors=True)
    try:
        staging.rename(target)
    except OSError:
        if not (target / _COMPLETE_MARKER).is_file():
            raise
        # Another process finished the same download first; keep its copy.
