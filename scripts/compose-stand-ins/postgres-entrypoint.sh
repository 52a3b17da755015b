#!/bin/bash
# The part of the official postgres image's entrypoint that docker-compose.yml relies on: on
# an empty data directory, create the cluster with POSTGRES_USER and POSTGRES_PASSWORD, accept
# password logins from other containers, create POSTGRES_DB; then run the server as postgres.
# Any other command (`pg_isready`, `psql`) runs as given.
set -euo pipefail

[ "${1:-}" = postgres ] || exec "$@"

if [ "$(id -u)" = 0 ]; then
  install --directory --owner postgres --group postgres --mode 700 "$PGDATA"
  chown -R postgres:postgres "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

: "${POSTGRES_PASSWORD:?is required (the official image refuses to start without it too)}"
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 --pgdata="$PGDATA"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    # As in the official image: a temporary server on the socket only, so nothing from
    # outside connects before the database exists.
    pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" --wait start
    createdb --username="$POSTGRES_USER" "$POSTGRES_DB"
    pg_ctl --pgdata="$PGDATA" --mode=fast --wait stop
  fi
fi

exec "$@"
