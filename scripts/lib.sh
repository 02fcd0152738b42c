# Shared by the scripts in this folder; sourced, not run.
# shellcheck shell=bash
FL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FL_BUILD_DIR="${FL_BUILD_DIR:-$FL_ROOT/build}"
FL_BIN="$FL_BUILD_DIR/gateway/app/fhir-ledger"
FL_ANVIL="$FL_ROOT/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
FL_CAST="$FL_ROOT/node_modules/@foundry-rs/cast-linux-amd64/bin/cast"
# anvil's first well-known development account. Public knowledge; never use it on a real chain.
FL_DEV_PRIVATE_KEY="0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

# The gateway refuses a keyring that group or others can read; git checks files out 0644.
chmod 600 "$FL_ROOT/config/keys/dev-keyring.json" 2>/dev/null || true

fl_say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
fl_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# A loopback TCP port that was free a moment ago; `fl_free_port N`: N different ones, on one line.
# fl_wait_api LOG PID: waits up to 60 s for `fhir-ledger serve` (PID, logging to LOG) to say
# that its API listens; dies with the log when the process exits first.
fl_wait_api() {
  local deadline=$((SECONDS + 60))
  until grep -qs '"api.listening"' "$1"; do
    kill -0 "$2" 2>/dev/null || { cat "$1" >&2; fl_die "the gateway exited"; }
    [ "$SECONDS" -lt "$deadline" ] || fl_die "the API did not start within 60 s"
    sleep 0.2
  done
}

fl_free_port() {
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()' "${1:-1}"
}

# Configures (once) and builds the given targets in $FL_BUILD_DIR.
fl_build() {
  local jobs
  jobs="$(nproc 2>/dev/null || echo 2)"
  if [ ! -f "$FL_BUILD_DIR/build.ninja" ]; then
    cmake -S "$FL_ROOT" -B "$FL_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DFL_BUILD_TESTS=ON >/dev/null
  fi
  cmake --build "$FL_BUILD_DIR" -j "$jobs" ${1:+--target "$@"}
}
