#!/usr/bin/env bash
# Benchmark of the load generator (figures, no assertions): nginx serves a tiny response on 127.0.0.1,
# one worker pinned to core 0; the generator runs pinned to core 1 (tools/loadtest/bench.ts, driving the
# engine of lib/load-engine that the load-generator Lambda and `npm run loadtest -- --local` run):
#   (a) the engine's open-model rate at 10k/20k/30k/40k req/s and its rate error per 100-ms window,
#   (b) closed-loop maximum of the engine, autocannon and wrk with the same connections.
# Usage: npm run bench:loadgen [-- --seconds 10 --rates 10000,20000,30000,40000 --connections 50]
# Installs nginx and wrk from Debian's packages when missing (as root). Uses its own temporary nginx
# prefix and config (the system's nginx config is never touched) and stops it on exit. About 2.5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

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
    echo "missing ${missing[*]}: install them (Debian: sudo apt-get install -y nginx wrk)" >&2
    exit 1
  fi
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ "$(nproc)" -ge 2 ] || { echo "needs 2 cores (server on core 0, generator on core 1)" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=""
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 40000))
  port_open "$candidate" || { port="$candidate"; break; }
done
[ -n "$port" ] || { echo "no free port found" >&2; exit 1; }

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
port_open "$port" || { echo "nginx did not start: $(cat "$dir/error.log")" >&2; exit 1; }

TS_NODE_SWC=true timeout 170 taskset -c 1 node -r ts-node/register/transpile-only tools/loadtest/bench.ts \
  --target "http://127.0.0.1:$port" --cpu 1 "$@"
