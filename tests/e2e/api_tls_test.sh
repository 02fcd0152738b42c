#!/usr/bin/env bash
# e2e: the API over TLS (api.tls), with curl the way a user calls it. A CA, the server's
# certificate (for 127.0.0.1) and a client's are made with openssl in the run folder.
#   1. TLS: an https read answers (404 for a patient never stored, 401 without a token), the
#      server's certificate verifies against the CA; plain HTTP on the port gets no answer;
#   2. mutual TLS (clientCaFile): without a client certificate the handshake fails; with one the
#      CA signed it answers; with one another CA signed it fails;
#   3. a private key that does not match the certificate is refused at start, naming /api/tls;
#   4. token keys from JWK Sets (api.jwksFile, api.jwksUrl): their keys verify, an unknown kid
#      or a key other than the kid's is 401.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

pki="$run/pki"
mkdir -p "$pki"
ca() {  # ca NAME: a self-signed CA
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$1" -keyout "$pki/$1.key" -out "$pki/$1.pem" 2>/dev/null
}
leaf() {  # leaf NAME CA [EXTENSION]: a certificate CA signs
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$2.pem" -CAkey "$pki/$2.key" -CAcreateserial \
    -days 2 ${3:+-extfile <(printf '%s\n' "$3")} -out "$pki/$1.pem" 2>/dev/null
}
ca test-ca
ca other-ca
leaf server test-ca "subjectAltName=IP:127.0.0.1"
leaf eu-hospital test-ca
leaf intruder other-ca

configure() {  # configure OUT [CLIENT_CA]: the shipped config with api.tls
  python3 - "$FL_ROOT/config/gateway.json" "$1" "$FL_ROOT/config" "$pki" "${2:-}" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for section, key in (("keys", "keyringFile"), ("mappings", "dir"), ("policy", "bundle")):
    c[section][key] = sys.argv[3] + "/" + c[section][key]
c["api"]["tls"] = {"certificateFile": sys.argv[4] + "/server.pem",
                   "privateKeyFile": sys.argv[4] + "/server.key"}
if sys.argv[5]:
    c["api"]["tls"]["clientCaFile"] = sys.argv[4] + "/" + sys.argv[5]
json.dump(c, open(sys.argv[2], "w"))
PY
}
gateway=""
trap '[ -n "$gateway" ] && kill "$gateway" 2>/dev/null; "$FL_ROOT/scripts/services" stop "$run"' EXIT
serve() {  # serve CONFIG: the gateway with its API, until the API listens
  rm -f "$run/serve.log"  # the last run's says it listened
  "$FL_BIN" serve --config "$1" >"$run/serve.json" 2>"$run/serve.log" &
  gateway=$!
  fl_wait_api "$run/serve.log" "$gateway"
}
stop() { kill "$gateway" && wait "$gateway" 2>/dev/null || true; gateway=""; }
token="$("$FL_BIN" token --client eu-hospital --scope 'system/*.rs')"
base="https://127.0.0.1:$FL_API_PORT"
status() {  # status CURL_ARGS...: the HTTP status, or "failed" when no answer came
  curl -s -m 10 -o /dev/null -w '%{http_code}' "$@" || echo failed
}

# 1. TLS.
configure "$run/tls.json"
serve "$run/tls.json"
got="$(status --cacert "$pki/test-ca.pem" -H "Authorization: Bearer $token" "$base/fhir/Patient/nobody")"
[ "$got" = 404 ] || fl_die "an https read answered $got, expected 404"
got="$(status --cacert "$pki/test-ca.pem" "$base/fhir/Patient/nobody")"
[ "$got" = 401 ] || fl_die "an https read without a token answered $got, expected 401"
got="$(status --cacert "$pki/other-ca.pem" -H "Authorization: Bearer $token" "$base/fhir/Patient/nobody")"
[[ "$got" = failed || "$got" = 000* ]] || fl_die "the server's certificate verified against another CA ($got)"
got="$(status -H "Authorization: Bearer $token" "http://127.0.0.1:$FL_API_PORT/fhir/Patient/nobody")"
[[ "$got" != 404 && "$got" != 401 ]] || fl_die "plain HTTP was served on the TLS port ($got)"
kill -0 "$gateway" 2>/dev/null || fl_die "the gateway did not survive a plain HTTP request"
echo "ok: the API over TLS: https answers, the certificate verifies, plain HTTP gets nothing"
stop

# 2. Mutual TLS.
configure "$run/mtls.json" test-ca.pem
serve "$run/mtls.json"
got="$(status --cacert "$pki/test-ca.pem" -H "Authorization: Bearer $token" "$base/fhir/Patient/nobody")"
[[ "$got" = failed || "$got" = 000* ]] || fl_die "mutual TLS answered a client without a certificate ($got)"
got="$(status --cacert "$pki/test-ca.pem" --cert "$pki/eu-hospital.pem" --key "$pki/eu-hospital.key" \
  -H "Authorization: Bearer $token" "$base/fhir/Patient/nobody")"
[ "$got" = 404 ] || fl_die "mutual TLS with the client's certificate answered $got, expected 404"
got="$(status --cacert "$pki/test-ca.pem" --cert "$pki/intruder.pem" --key "$pki/intruder.key" \
  -H "Authorization: Bearer $token" "$base/fhir/Patient/nobody")"
[[ "$got" = failed || "$got" = 000* ]] || fl_die "mutual TLS took a certificate another CA signed ($got)"
echo "ok: mutual TLS: no certificate or another CA's is refused at the handshake, the CA's answers"
stop

# 3. A key that does not match the certificate.
python3 - "$run/tls.json" "$run/bad.json" "$pki/intruder.key" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["api"]["tls"]["privateKeyFile"] = sys.argv[3]
json.dump(c, open(sys.argv[2], "w"))
PY
if timeout 60 "$FL_BIN" serve --config "$run/bad.json" >/dev/null 2>"$run/bad.log"; then
  fl_die "a key that does not match the certificate was taken"
fi
grep -q '/api/tls' "$run/bad.log" || fl_die "the refusal does not name /api/tls: $(cat "$run/bad.log")"
echo "ok: a private key that does not match the certificate is refused at start"

# 4. Token keys from JSON Web Key Sets: a file (api.jwksFile) and a URL (api.jwksUrl, served
#    here by python's http.server), each with an RSA key made here and published as a JWK.
jwk_set() {  # jwk_set KID PRIVATE_KEY OUT: the key's public half as a one-key JWK Set
  local modulus
  modulus="$(openssl rsa -in "$2" -noout -modulus 2>/dev/null)"
  python3 - "$1" "${modulus#Modulus=}" "$3" <<'PY'
import base64, json, sys
b64url = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
json.dump({"keys": [{"kty": "RSA", "kid": sys.argv[1], "use": "sig",
                     "n": b64url(bytes.fromhex(sys.argv[2])),
                     "e": b64url((65537).to_bytes(3, "big"))}]}, open(sys.argv[3], "w"))
PY
}
mkdir -p "$pki/url"
for kid in file-1 url-1; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/$kid.pem" 2>/dev/null
done
jwk_set file-1 "$pki/file-1.pem" "$pki/jwks.json"
jwk_set url-1 "$pki/url-1.pem" "$pki/url/jwks.json"
jwks_port="$(fl_free_port)"
python3 -m http.server "$jwks_port" --bind 127.0.0.1 --directory "$pki/url" \
  >"$run/jwks-server.log" 2>&1 &
jwks_server=$!
trap '[ -n "$gateway" ] && kill "$gateway" 2>/dev/null; kill "$jwks_server" 2>/dev/null
  "$FL_ROOT/scripts/services" stop "$run"' EXIT
deadline=$((SECONDS + 10))
until curl -sf -o /dev/null "http://127.0.0.1:$jwks_port/jwks.json"; do
  [ "$SECONDS" -lt "$deadline" ] || fl_die "the JWKS server did not start"
  sleep 0.1
done
python3 - "$run/tls.json" "$run/jwks.json" "$pki/jwks.json" \
  "http://127.0.0.1:$jwks_port/jwks.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["api"]["jwksFile"] = sys.argv[3]
c["api"]["jwksUrl"] = sys.argv[4]
json.dump(c, open(sys.argv[2], "w"))
PY
serve "$run/jwks.json"
read_as() {  # read_as KID KEY: the status of an https read with a token KEY signs, naming KID
  local bearer
  bearer="$("$FL_BIN" token --client eu-hospital --scope 'system/*.rs' --alg RS256 --kid "$1" \
    --key "$2")"
  status --cacert "$pki/test-ca.pem" -H "Authorization: Bearer $bearer" "$base/fhir/Patient/nobody"
}
got="$(read_as file-1 "$pki/file-1.pem")"
[ "$got" = 404 ] || fl_die "a token verified with the JWKS file's key answered $got, expected 404"
got="$(read_as url-1 "$pki/url-1.pem")"
[ "$got" = 404 ] || fl_die "a token verified with the JWKS URL's key answered $got, expected 404"
got="$(read_as file-2 "$pki/file-1.pem")"
[ "$got" = 401 ] || fl_die "a token naming a kid no set has answered $got, expected 401"
got="$(read_as url-1 "$pki/file-1.pem")"
[ "$got" = 401 ] || fl_die "a token naming url-1 but signed by file-1's key answered $got, expected 401"
echo "ok: tokens verified with JWK Set keys (file and URL) are served; an unknown kid is 401"
stop
kill "$jwks_server" 2>/dev/null || true
