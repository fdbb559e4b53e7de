#!/usr/bin/env bash
# Benchmark of the load generator (figures, no assertions): nginx serves a tiny response on 127.0.0.1,
# one worker pinned to core 0; the generator runs pinned to core 1 (tools/loadtest/bench.ts, driving the
# engine of lib/load-engine that the load-generator Lambda and `npm run loadtest -- --local` run).
# The arguments are checked (--help answered) before anything is installed or started.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/cli.sh
source scripts/cli.sh

if cli_wants_help "$@"; then
  cat <<'EOF'
Usage: npm run bench:loadgen [-- --seconds 10 --rates 10000,20000,30000,40000 --connections 50]

Benchmarks the load generator on this machine: nginx serves a tiny response on 127.0.0.1 (one worker on
core 0), the generator runs on core 1.
  (a) the engine's open-model rate at each of --rates req/s and its rate error per 100-ms window,
  (b) the closed-loop maximum of the engine, autocannon and wrk with --connections connections.
Installs nginx and wrk from Debian's packages when missing (as root; otherwise says what to install). Uses
its own temporary nginx prefix and config (the system's nginx config is never touched) and stops it on
exit. About 2.5 minutes with the defaults.

  --seconds N            length of each run (default 10)
  --rates LIST           open-model rates in req/s, comma-separated (default 10000,20000,30000,40000)
  --connections N        closed-loop connections (default 50)
  --max-concurrency N    the engine's cap on requests in flight (default 1000)
  -h, --help             this text

Exit status: 0 measured; 1 the benchmark failed half-way; 2 bad arguments, or it cannot run here (nginx or
wrk missing and not root, fewer than 2 cores, nginx does not start).
EOF
  exit 0
fi
for a in "$@"; do
  case "$a" in --target|--target=*|--cpu|--cpu=*) cli_usage_error bench:loadgen "$a: set by this script (its own nginx on 127.0.0.1, the generator on core 1)." ;; esac
done
# Bad arguments fail here, in one line, before nginx is installed or started.
TS_NODE_SWC=true node -r ts-node/register/transpile-only tools/loadtest/bench.ts --check-args "$@"

cannot_run() { echo "bench:loadgen: $1" >&2; exit 2; }

missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v taskset >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]} from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts its own nginx on install: stop it (ours runs from its own prefix).
    service nginx stop >/dev/null 2>&1 || true
  else
    cannot_run "missing ${missing[*]}. Fix: install them (Debian: sudo apt-get install -y ${missing[*]})"
  fi
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ "$(nproc)" -ge 2 ] || cannot_run "needs 2 cores (server on core 0, generator on core 1); this machine has $(nproc)."

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=""
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 40000))
  port_open "$candidate" || { port="$candidate"; break; }
done
[ -n "$port" ] || cannot_run "no free port found on 127.0.0.1 (tried 50)."

dir="$(mktemp -d /tmp/bench-loadgen.XXXXXX)"
chmod 755 "$dir"
stop_nginx() {
  if [ -f "$dir/nginx.pid" ]; then
    "$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" -s quit 2>/dev/null || kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
    for _ in $(seq 1 50); do [ -f "$dir/nginx.pid" ] || break; sleep 0.1; done
  fi
  rm -rf "$dir"
}
trap stop_nginx EXIT

cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
worker_cpu_affinity 01;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:$port backlog=4096;
    location / { default_type text/plain; return 200 "ok\n"; }
  }
}
EOF
taskset -c 0 "$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
for _ in $(seq 1 50); do port_open "$port" && break; sleep 0.1; done
port_open "$port" || cannot_run "nginx did not start: $(cat "$dir/error.log")"

TS_NODE_SWC=true timeout 170 taskset -c 1 node -r ts-node/register/transpile-only tools/loadtest/bench.ts \
  --target "http://127.0.0.1:$port" --cpu 1 "$@"
