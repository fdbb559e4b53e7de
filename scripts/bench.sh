#!/usr/bin/env bash
# Prints how long synth of one environment and the whole test suite take on this machine.
# Figures, not assertions: a noisy 2-core machine varies by a few seconds. Usage: npm run bench [-- RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

time_it() { # label, command...
  local label="$1"; shift
  local all=()
  for i in $(seq "$runs"); do
    local start="$EPOCHREALTIME"
    "$@" >/dev/null 2>&1
    all+=("$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {print b - a}')")
  done
  printf '%-32s' "$label"
  printf '%s\n' "${all[@]}" | sort -n | awk '{a[NR]=$1} END {printf "min %6.1f s  median %6.1f s  max %6.1f s  (%d runs)\n", a[1], a[int((NR+1)/2)], a[NR], NR}'
}

echo "node $(node --version), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
for env in dev staging prod; do
  time_it "cdk synth -c env=$env" npx cdk synth -c env="$env" --quiet -o "$out/$env"
done
time_it "npm test" npm test --silent
