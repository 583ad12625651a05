"""The Java runtime the broker runs on (17 or newer: ``$JAVA_HOME`` or ``java`` on PATH)."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

from devinfra.kafka.errors import KafkaError
from devinfra.kafka.jars import kafka_classpath


@functools.cache
def java_executable() -> str:
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home, "bin", "java") if home else None
    java = str(candidate) if candidate and candidate.is_file() else shutil.which("java")
    if java is None:
        raise KafkaError("Java 17 or newer is needed to run Kafka; `java` is not on PATH")
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):
        major = int(match.group(2))
    if major < 17:
        raise KafkaError(f"Kafka needs Java 17 or newer; {java} reports:\n{result.stderr}")
    return java


def java_command(heap: str) -> list[str]:
    """``java`` with the broker's classpath and heap; the main class and its arguments follow."""
    classpath = os.pathsep.join(str(jar) for jar in kafka_classpath())
    return [
        java_executable(),
        f"-Xmx{heap}",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        "-cp",
        classpath,
    ]
