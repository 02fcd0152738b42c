#!/usr/bin/env bash
# e2e: the fhir-ledger binary refuses bad configuration and bad usage at start, with exit code 2
# and one line naming the file, the JSON pointer and what was expected; it never starts work.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

expect() {  # expect CODE PATTERN COMMAND...
  local code="$1" pattern="$2" status=0
  shift 2
  "$@" >"$tmp/out" 2>&1 || status=$?
  [ "$status" = "$code" ] || fl_die "'$*' exited $status, expected $code: $(cat "$tmp/out")"
  grep -qE -- "$pattern" "$tmp/out" || fl_die "'$*' printed $(cat "$tmp/out"), expected /$pattern/"
  echo "ok: $* -> $code"
}

python3 - "$FL_ROOT/config/gateway.json" "$tmp/bad.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["redis"]["regions"]["default"]["port"] = "abc"
json.dump(c, open(sys.argv[2], "w"))
PY
expect 2 "bad.json: /redis/regions/default/port: expected integer 1..65535, got \"abc\"" \
  "$FL_BIN" serve --config "$tmp/bad.json"
echo '{"kafka": ' >"$tmp/broken.json"
expect 2 "broken.json: /: invalid JSON at offset" "$FL_BIN" serve --config "$tmp/broken.json"
expect 2 "cannot open file" "$FL_BIN" serve --config "$tmp/missing.json"
FL_REDIS_PORT=70000 expect 2 "/redis/regions/default/port: expected integer >= 1 <= 65535, got 70000" \
  "$FL_BIN" serve --config "$FL_ROOT/config/gateway.json"
expect 2 "unknown option --confg" "$FL_BIN" serve --confg x
expect 2 "unknown command 'srve'" "$FL_BIN" srve
expect 2 "FL_LEDGER_PRIVATE_KEY" env -u FL_LEDGER_PRIVATE_KEY "$FL_BIN" ledger deploy --rpc-url http://127.0.0.1:1
expect 2 "--partitions expects a whole number" "$FL_BIN" dev-broker --partitions 0
expect 0 "usage: fhir-ledger" "$FL_BIN" help
