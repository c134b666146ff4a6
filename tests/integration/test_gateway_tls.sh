#!/usr/bin/env bash
# test_gateway_tls - mtgateway --tls-cert/--tls-key: a self-signed cert made here, /health and
# /api/v1/jobs over https with curl --cacert, plain http refused, bad cert and key files refused
. "$(dirname "$0")/lib.sh"

GATEWAY=$MT_BIN_DIR/mtgateway
[ -x "$GATEWAY" ] || fail "$GATEWAY is missing: build the mtgateway target"
need curl curl
need openssl openssl

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$T/key.pem" -out "$T/cert.pem" >"$T/openssl.log" 2>&1 \
    || fail "openssl could not make a self-signed cert: $(cat "$T/openssl.log")"

# Files that cannot serve: named at start, before anything listens
refused_usage "--tls-cert without --tls-key" "needs both --tls-cert" \
    "$GATEWAY" --tls-cert "$T/cert.pem"
refused_usage "a missing key file" "--tls-key: cannot read" \
    "$GATEWAY" --tls-cert "$T/cert.pem" --tls-key "$T/none.pem"
head -c 600 /dev/urandom > "$T/noise.pem"
refused_usage "a key file that is not PEM" "--tls-key: '$T/noise.pem' is not a PEM file" \
    "$GATEWAY" --tls-cert "$T/cert.pem" --tls-key "$T/noise.pem"
{ echo "-----BEGIN PRIVATE KEY-----"; head -c 300 /dev/urandom | base64
  echo "-----END PRIVATE KEY-----"; } > "$T/garbage.pem"
# bad_key WHAT KEYFILE PATTERN: the gateway exits 1 at start naming the key and GnuTLS's reason
bad_key () {
    local what=$1 key=$2 pattern=$3 rc=0 out
    out=$("$GATEWAY" --broker "tcp://127.0.0.1:$(free_port)" --listen "127.0.0.1:$(free_port)" \
          --tls-cert "$T/cert.pem" --tls-key "$key" 2>&1 >/dev/null) || rc=$?
    [ "$rc" -eq 1 ] || fail "$what: exited $rc, not 1: $out"
    echo "$out" | grep -qF -- "cannot serve HTTPS" && echo "$out" | grep -qF -- "--tls-key '$key'" \
        && echo "$out" | grep -qF -- "$pattern" || fail "$what: said '$out', expected '$pattern'"
    ok "$what: $(echo "$out" | grep -F 'cannot serve HTTPS')"
}
bad_key "a garbage key inside PEM armour" "$T/garbage.pem" "GnuTLS failed to setup x509"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other" \
    -keyout "$T/other-key.pem" -out "$T/other-cert.pem" >>"$T/openssl.log" 2>&1 \
    || fail "openssl could not make a second key"
bad_key "another cert's key" "$T/other-key.pem" "do not match"

start_broker
port=$(free_port)
"$GATEWAY" --broker "$CLIENTS" --listen "127.0.0.1:$port" --tls-cert "$T/cert.pem" \
    --tls-key "$T/key.pem" >>"$T/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")
GW=https://localhost:$port
TLS=(--cacert "$T/cert.pem" --resolve "localhost:$port:127.0.0.1")
wait_for "the gateway to answer /health over https" 10 curl -sf "${TLS[@]}" "$GW/health"
[ "$(curl -sf "${TLS[@]}" "$GW/health" | jq -r .status)" = ok ] || fail "/health over https"
code=$(curl -s "${TLS[@]}" -o "$T/jobs" -w '%{http_code}' "$GW/api/v1/jobs")
[ "$code" = 200 ] && jq -e . "$T/jobs" >/dev/null || fail "/api/v1/jobs over https: $code $(cat "$T/jobs")"
ok "/health and /api/v1/jobs over https, checked against the self-signed cert"

code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$GW/health") || true
[ "$code" = 000 ] || fail "https without trusting the cert: $code, not refused"
ok "curl without --cacert refuses the self-signed cert"

code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/health") || true
[ "$code" = 000 ] || fail "plain http to the TLS port answered $code"
our_child "$GW_PID" || fail "the gateway is gone after a plain-http request"
curl -sf "${TLS[@]}" "$GW/health" >/dev/null || fail "https after a plain-http request"
ok "plain http to the https port gets no HTTP answer, and the gateway serves on"
echo PASS
