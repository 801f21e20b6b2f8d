#!/usr/bin/env bash
# Install (first time) and run the whole pytest suite twice, on SQLite and on PostgreSQL
# (TEST_DATABASE_URL, default the local server at 127.0.0.1:5432, database "test"), the two runs
# side by side (each waits on the network and on its stand-ins far more than it computes), each
# run's output shown when it ends.
# With CI=true a PostgreSQL server that cannot be reached is an error; otherwise that run is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
PY=.venv/bin/python

PG_URL=${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
pg_up() { "$PY" -c "import sys,sqlalchemy as sa; sa.create_engine(sys.argv[1]).connect().close()" "$PG_URL" >/dev/null 2>&1; }
if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >/dev/null 2>&1 || true
  for _ in $(seq 1 20); do pg_up && break; sleep 0.5; done
fi
if ! pg_up; then
  if [ "${CI:-}" = "true" ]; then
    echo "PostgreSQL at $PG_URL is not reachable" >&2
    exit 1
  fi
  echo "== tests on SQLite (PostgreSQL not reachable at $PG_URL: its run is skipped)"
  TEST_DATABASE_URL= exec "$PY" -m pytest -q "$@"
fi

logs=$(mktemp -d)
echo "== tests on SQLite and on PostgreSQL, side by side"
TEST_DATABASE_URL= "$PY" -m pytest -q -p no:cacheprovider "$@" >"$logs/sqlite" 2>&1 &
sqlite_pid=$!
trap 'kill "$sqlite_pid" 2>/dev/null || true; rm -rf "$logs"' EXIT
set +e
TEST_DATABASE_URL="$PG_URL" "$PY" -m pytest -q -p no:cacheprovider "$@" >"$logs/postgresql" 2>&1
pg_rc=$?
wait "$sqlite_pid"
sqlite_rc=$?
set -e
echo "== tests on SQLite (exit $sqlite_rc)"
cat "$logs/sqlite"
echo "== tests on PostgreSQL (exit $pg_rc)"
cat "$logs/postgresql"
[ "$sqlite_rc" -eq 0 ] && [ "$pg_rc" -eq 0 ]
