# Sourced by the e2e tests: local services (scripts/services) in a fresh run folder `$run`,
# stopped and removed at exit; the PointerRegistry deployed (FL_LEDGER_CONTRACT exported); the
# shipped sample events (`$manifest`) published to fhir.events. The Kafka broker is the mock
# cluster, or with FL_TEST_KAFKA=real a single-node Apache Kafka broker (scripts/services
# --kafka real; FL_KAFKA_BROKER, its default, too), for the tests about Kafka behaviour.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

run="$(mktemp -d "${TMPDIR:-/tmp}/fhir-ledger-e2e.XXXXXX")"
trap '"$FL_ROOT/scripts/services" stop "$run"' EXIT
"$FL_ROOT/scripts/services" start "$run" --kafka "${FL_TEST_KAFKA:-${FL_KAFKA_BROKER:-mock}}"
source "$run/env"

FL_LEDGER_CONTRACT="$("$FL_BIN" ledger deploy --rpc-url "$FL_LEDGER_RPC_URL")"
export FL_LEDGER_CONTRACT
manifest="$FL_ROOT/config/samples/events.manifest.json"
"$FL_BIN" publish --bootstrap "$FL_KAFKA_BOOTSTRAP_SERVERS" --topic fhir.events --manifest "$manifest"
