#!/bin/sh
# The demo's PostgreSQL 15 (Debian's package, not the postgres image): on the first start
# of an instance, initdb into its volume, allow the Docker bridge in pg_hba.conf (clients
# on the host arrive from the bridge's address), create the role and the instance's
# database from the environment; then, every start, exec postgres as PID 1.
# Env: DEMO_DATABASE, DEMO_DB_USER, DEMO_DB_PASSWORD, PGDATA.
set -eu
: "${DEMO_DATABASE:?}" "${DEMO_DB_USER:?}" "${DEMO_DB_PASSWORD:?}" "${PGDATA:?}"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "demo-postgres: initdb into $PGDATA for database $DEMO_DATABASE"
  as_postgres initdb -D "$PGDATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  printf '%s\n' "host all all 0.0.0.0/0 scram-sha-256" "host all all ::/0 scram-sha-256" \
    >>"$PGDATA/pg_hba.conf"
  # Only the socket while the role and database are made: nothing connects half-way.
  as_postgres pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  # psql's :'var' quotes a literal and :"var" an identifier: names and password need no escaping here.
  as_postgres psql -v ON_ERROR_STOP=1 -q -U postgres -d postgres \
    -v user="$DEMO_DB_USER" -v password="$DEMO_DB_PASSWORD" -v db="$DEMO_DATABASE" <<'SQL'
CREATE ROLE :"user" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"user";
SQL
  as_postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi

exec setpriv --reuid=postgres --regid=postgres --init-groups \
  postgres -D "$PGDATA" -c listen_addresses='*'
