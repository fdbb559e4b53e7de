#!/usr/bin/env bash
# Local servers for the workload's integration tests and `npm run workload:dev`, on 127.0.0.1 only:
# PostgreSQL and Redis from Debian's packages, and moto_server as the SQS endpoint.
#   scripts/services.sh install   apt-get install postgresql redis-server (once, as root)
#   scripts/services.sh start     start all three (idempotent; installs first when run as root on Debian)
#   scripts/services.sh stop      stop them
#   scripts/services.sh running   exit 0 when all three accept connections
#   scripts/services.sh env       print the variables the workload needs
set -euo pipefail
dir="${SB_SERVICES_DIR:-/tmp/scaling-blueprint-services}"
PG_PORT="${SB_PG_PORT:-55432}"
REDIS_PORT="${SB_REDIS_PORT:-56379}"
SQS_PORT="${SB_SQS_PORT:-54566}"
# The newest server installation (a client-only install has psql but no pg_ctl).
pg_bin() { local d; d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"; [ -x "$d/pg_ctl" ] && echo "$d" || true; }
# True when something accepts TCP connections on 127.0.0.1:$1 (bash only: no curl or nc needed).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

install() {
  local missing=()
  [ -n "$(pg_bin)" ] || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # Debian starts its own clusters on install; ours run on other ports, so stop theirs to save memory.
  service postgresql stop >/dev/null 2>&1 || true
  service redis-server stop >/dev/null 2>&1 || true
  command -v moto_server >/dev/null || { echo "moto_server not found: pip install 'moto[server]>=5'" >&2; exit 1; }
}

wait_for() { # name, command...
  local name="$1"; shift
  for _ in $(seq 1 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "$name did not start" >&2; exit 1
}

start() {
  mkdir -p "$dir"
  if [ -z "$(pg_bin)" ] || ! command -v redis-server >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      install   # a fresh Debian machine: `npm test` alone sets everything up
    else
      echo "PostgreSQL or Redis is missing: run 'sudo bash scripts/services.sh install' (Debian), or install them with your package manager" >&2
      exit 1
    fi
  fi
  local bin; bin="$(pg_bin)"
  if ! "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT" >/dev/null 2>&1; then
    if [ ! -f "$dir/pg/PG_VERSION" ]; then
      mkdir -p "$dir/pg" && chown -R postgres "$dir/pg" 2>/dev/null || true
      as_postgres "$bin/initdb" -D "$dir/pg" -U app --auth=trust >/dev/null
    fi
    as_postgres "$bin/pg_ctl" -D "$dir/pg" -l "$dir/pg/server.log" -w \
      -o "-h 127.0.0.1 -p $PG_PORT -k $dir/pg -c fsync=off -c max_connections=200" start >/dev/null
  fi
  wait_for PostgreSQL "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT"
  "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U app -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'app'" | grep -q 1 \
    || "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U app -d postgres -qc 'CREATE DATABASE app' >/dev/null

  if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' --appendonly no \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
  fi
  wait_for Redis redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping

  if ! port_open "$SQS_PORT"; then
    nohup moto_server -H 127.0.0.1 -p "$SQS_PORT" >"$dir/moto.log" 2>&1 &
    echo $! >"$dir/moto.pid"
  fi
  wait_for moto_server port_open "$SQS_PORT"
  env_vars >"$dir/env"
  echo "$dir/env"
}

stop() {
  local bin; bin="$(pg_bin)"
  [ -f "$dir/pg/postmaster.pid" ] && as_postgres "$bin/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null 2>&1 || true
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  [ -f "$dir/moto.pid" ] && kill "$(cat "$dir/moto.pid")" 2>/dev/null || true
  rm -f "$dir/moto.pid"
}

env_vars() {
  cat <<VARS
export DB_WRITER_HOST=127.0.0.1 DB_READER_HOST=127.0.0.1 DB_PORT=$PG_PORT DB_NAME=app DB_USERNAME=app DB_PASSWORD=
export DB_TLS=false DB_IAM_AUTH=false
export CACHE_HOST=127.0.0.1 CACHE_PORT=$REDIS_PORT CACHE_TLS=false CACHE_CLUSTER_MODE=false
export AWS_ENDPOINT_URL=http://127.0.0.1:$SQS_PORT AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
VARS
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  running) port_open "$PG_PORT" && port_open "$REDIS_PORT" && port_open "$SQS_PORT" ;;
  env) env_vars ;;
  *) echo "usage: $0 install|start|stop|running|env" >&2; exit 2 ;;
esac
