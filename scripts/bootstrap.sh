#!/usr/bin/env bash
# Installs what `make run` / `make test` need on a fresh Debian machine, and nothing twice:
# Java 17 + Maven (the local Kafka broker), Chromium + chromedriver (the console's browser test), uv (Python deps from uv.lock), the Kafka jars, PostgreSQL,
# and a container engine for the container tier: a Docker engine when one runs, else podman.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "${ROSTER_APT_UPDATED:-}" ]; then apt-get update -qq; export ROSTER_APT_UPDATED=1; fi
  apt-get install -y -qq "$@" >/dev/null
}

java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }

if ! command -v java >/dev/null || [ "$(java_major)" -lt 17 ]; then apt_install openjdk-17-jre-headless; fi
if ! command -v mvn >/dev/null; then apt_install maven; fi
# The console's browser test drives Debian's Chromium through its chromedriver (Selenium).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then apt_install chromium chromium-driver; fi
if ! command -v uv >/dev/null; then python3 -m pip install --quiet --root-user-action=ignore uv; fi

# Bytecode compiled once, here: where PYTHONDONTWRITEBYTECODE is set (as in this machine kind's
# shells), Python never caches it, and every process would compile each module it imports at every
# start (~2 s of CPU per service process, paid by every stack a test or `make run` starts).
uv sync --frozen --quiet --compile-bytecode
uv run --frozen python -m compileall -q -j 0 contracts servicekit services devinfra roster_cli >/dev/null
uv run --frozen python -m devinfra.kafka --classpath-only >/dev/null
if [ -z "${DATABASE_URL:-}" ]; then
  uv run --frozen python -c "from devinfra.postgres_install import ensure_postgres_installed as e; e()"
fi

# The container tier (tests/containers, `make images`) uses a Docker engine when DOCKER_HOST or
# /var/run/docker.sock says there is one; otherwise podman with runc (containers/containers.conf says
# why) and debootstrap (a local Debian base image when no container registry answers).
if [ -z "${DOCKER_HOST:-}" ] && [ ! -S /var/run/docker.sock ]; then
  missing=()
  for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
fi
