#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for the export tests: 127.0.0.1 only, a private port, trust
# authentication, data under a scratch directory that `stop` deletes.
#   scripts/pg-test-server.sh start   -- initdb (if needed) and start; prints the URL
#   scripts/pg-test-server.sh stop    -- stop and delete the data directory
#   scripts/pg-test-server.sh url     -- the URL the tests connect to
# Environment: BQX_PG_PORT (default 54329), BQX_PG_DIR (default /tmp/bqx-pg-test-<port>),
#              BQX_PG_BIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail

PORT="${BQX_PG_PORT:-54329}"
DIR="${BQX_PG_DIR:-/tmp/bqx-pg-test-$PORT}"
BIN="${BQX_PG_BIN:-/usr/lib/postgresql/15/bin}"
DATA="$DIR/data"
LOG="$DIR/server.log"
URL="postgresql://postgres@127.0.0.1:$PORT/postgres"

# initdb and the server refuse to run as root: run them as the postgres user then.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  if [ ! -x "$BIN/pg_ctl" ]; then
    echo "pg-test-server: $BIN/pg_ctl not found (install postgresql-15: scripts/install-deps.sh)" >&2
    exit 1
  fi
  mkdir -p "$DIR"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$DIR"; fi
  if as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    echo "$URL"
    return 0
  fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA"
    as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$DIR/initdb.log" 2>&1 ||
      { cat "$DIR/initdb.log" >&2; exit 1; }
  fi
  # No Unix socket outside the scratch dir; fsync off: a test server holds nothing worth a crash-safe disk.
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$DIR -c fsync=off -c full_page_writes=off -c max_wal_size=4GB" \
    start >/dev/null || { cat "$LOG" >&2 || true; exit 1; }
  echo "$URL"
}

stop() {
  if [ -f "$DATA/PG_VERSION" ]; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$DIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
