#!/usr/bin/env bash
# Install (first time) and run the whole pytest suite twice: on SQLite, then on PostgreSQL
# (TEST_DATABASE_URL, default the local server at 127.0.0.1:5432, database "test").
# With CI=true a PostgreSQL server that cannot be reached is an error; otherwise that run is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
PY=.venv/bin/python

echo "== tests on SQLite"
TEST_DATABASE_URL= "$PY" -m pytest -q "$@"

PG_URL=${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
pg_up() { "$PY" -c "import sys,sqlalchemy as sa; sa.create_engine(sys.argv[1]).connect().close()" "$PG_URL" >/dev/null 2>&1; }
if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >/dev/null 2>&1 || true
  for _ in $(seq 1 20); do pg_up && break; sleep 0.5; done
fi
if pg_up; then
  echo "== tests on PostgreSQL"
  TEST_DATABASE_URL="$PG_URL" "$PY" -m pytest -q "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL at $PG_URL is not reachable" >&2
  exit 1
else
  echo "== PostgreSQL not reachable at $PG_URL: skipped the PostgreSQL run"
fi
