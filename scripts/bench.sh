#!/usr/bin/env bash
# Prints how long synth of one environment and the whole test suite take on this machine.
# Figures, not assertions: a noisy 2-core machine varies by a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/cli.sh
source scripts/cli.sh

usage() {
  cat <<'EOF'
Usage: npm run bench [-- --runs N]

Times `cdk synth` of each environment of cdk.json and `npm test` on this machine, N times each (default 3),
and prints min, median and max of each. Figures, not assertions. Writes only to a temporary directory.

  --runs N      runs of each (a whole number ≥ 1; `npm run bench -- N` is the same)
  -h, --help    this text

Exit status: 0 measured; 1 a timed command failed; 2 bad arguments.
EOF
}

runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --runs) [ $# -ge 2 ] || cli_usage_error bench "--runs needs a value."; runs="$2"; shift 2 ;;
    --runs=*) runs="${1#--runs=}"; shift ;;
    -*) cli_unknown_flag bench "$1" --runs --help ;;
    *) runs="$1"; shift ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || cli_usage_error bench "--runs = \"$runs\": must be a whole number ≥ 1 (e.g. --runs 3)."

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

time_it() { # label, command...
  local label="$1"; shift
  local all=()
  for _ in $(seq "$runs"); do
    local start="$EPOCHREALTIME"
    if ! "$@" >"$out/last.log" 2>&1; then
      echo "bench: $label failed; its output:" >&2
      tail -20 "$out/last.log" >&2
      exit 1
    fi
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
