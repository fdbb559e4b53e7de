# The CLI layer's rules for the bash scripts (npm run bench, npm run bench:loadgen), as tools/common/args.ts
# has them for the TypeScript CLIs: usage errors are one line with the fix and exit 2; an unknown flag names
# the nearest known one (the same didYouMean, loaded only on that path).

# cli_usage_error <tool> <message>: prints "<tool>: <message>" and where the flags are listed; exits 2.
cli_usage_error() {
  printf '%s: %s\n(npm run %s -- --help lists the flags)\n' "$1" "$2" "$1" >&2
  exit 2
}

# cli_unknown_flag <tool> <given> <known flag>...: "unknown flag --x. Did you mean --y?"; exits 2.
cli_unknown_flag() {
  local tool="$1" given="$2"
  shift 2
  local name="${given%%=*}" near=""
  near="$(TS_NODE_SWC=true node -r ts-node/register/transpile-only -e '
    const [given, ...known] = process.argv.slice(1);
    const near = require("./tools/common/args").didYouMean(given.replace(/^-+/, ""), known.map((k) => k.replace(/^-+/, "")));
    if (near) process.stdout.write(`--${near}`);
  ' -- "$name" "$@" 2>/dev/null || true)"
  cli_usage_error "$tool" "unknown flag $name${near:+. Did you mean $near?}"
}

# cli_wants_help <args>...: whether --help or -h is among the arguments (before a --).
cli_wants_help() {
  local a
  for a in "$@"; do
    [ "$a" = "--" ] && return 1
    { [ "$a" = "--help" ] || [ "$a" = "-h" ]; } && return 0
  done
  return 1
}
