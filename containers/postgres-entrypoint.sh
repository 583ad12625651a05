#!/usr/bin/env bash
# Initialises the data directory on first start (superuser POSTGRES_USER, password from
# POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD, password logins from any address), then runs the server.
set -euo pipefail

user="${POSTGRES_USER:-roster}"
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
  password="$(<"$POSTGRES_PASSWORD_FILE")"
else
  password="${POSTGRES_PASSWORD:-}"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "$password" ]; then
    echo "postgres: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE for the first start" >&2
    exit 64
  fi
  password_file="$(mktemp)"
  printf '%s' "$password" >"$password_file"
  initdb --pgdata="$PGDATA" --username="$user" --pwfile="$password_file" --encoding=UTF8 \
    --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$password_file"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
fi

# Every service instance keeps a pool (up to 30 connections): room for a scaled deployment.
exec postgres -D "$PGDATA" -c listen_addresses='*' -c max_connections="${POSTGRES_MAX_CONNECTIONS:-400}"
