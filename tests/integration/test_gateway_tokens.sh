#!/usr/bin/env bash
# test_gateway_tokens - mtgateway --tokens: 401 without or with a wrong token, 403 for a role
# too low, each role's routes, the open ones (health, dashboard, OpenAPI), bad tokens files,
# and an upload over --max-upload
. "$(dirname "$0")/lib.sh"

GATEWAY=$MT_BIN_DIR/mtgateway
[ -x "$GATEWAY" ] || fail "$GATEWAY is missing: build the mtgateway target"
need curl curl

secret () { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
READ=$(secret) SUBMIT=$(secret) ADMIN=$(secret)
cat > "$T/tokens" <<TOKENS
# name role secret
viewer read $READ
ci     submit $SUBMIT
ops    admin $ADMIN
TOKENS
chmod 600 "$T/tokens"

printf 'x reader %s\n' "$READ" > "$T/bad-role"
refused_usage "an unknown role" "role 'reader'" "$GATEWAY" --tokens "$T/bad-role"
printf 'x read short\n' > "$T/short"
refused_usage "a short secret" "shorter than 16" "$GATEWAY" --tokens "$T/short"
printf 'a read %s\nb admin %s\n' "$READ" "$READ" > "$T/twice"
refused_usage "a secret used twice" "give each token its own" "$GATEWAY" --tokens "$T/twice"
refused_usage "a missing tokens file" "--tokens" "$GATEWAY" --tokens "$T/none"

start_broker
port=$(free_port)
# On every address, which tokens allow
"$GATEWAY" --broker "$CLIENTS" --listen "0.0.0.0:$port" --tokens "$T/tokens" \
    --max-upload 4K --default-data "$MT_TEST_DATA/sample_dataset.csv" >>"$T/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")
GW=http://127.0.0.1:$port
wait_for "the gateway to answer /health" 10 curl -sf "$GW/health"

# status WHO METHOD PATH [curl args]: the HTTP status with WHO's token (none, wrong, or a secret)
status () {
    local who=$1 method=$2 path=$3
    shift 3
    local auth=()
    case $who in
        none) ;;
        wrong) auth=(-H "Authorization: Bearer $(secret)") ;;
        *) auth=(-H "Authorization: Bearer $who") ;;
    esac
    curl -s -o "$T/body" -w '%{http_code}' -X "$method" "${auth[@]}" "$GW$path" "$@"
}
must () {           # STATUS WHO METHOD PATH [curl args]
    local want=$1 got
    shift
    got=$(status "$@")
    [ "$got" = "$want" ] || fail "$2 $3 as ${1:0:6}: $got, not $want: $(cat "$T/body")"
}

for path in /api/v1/jobs /api/v1/workers /api/v1/stats /api/v1/whoami /api/v1/events \
            /api/train/jobs /metrics "/api/v1/jobs/1"; do
    must 401 none GET "$path"
    [ "$(jq -r .error.code "$T/body")" = unauthorized ] || fail "$path: $(cat "$T/body")"
    must 401 wrong GET "$path"
done
must 401 none POST /api/train -d '{"epochs":1}'
curl -s -D - -o /dev/null "$GW/api/v1/jobs" | grep -qi '^www-authenticate: bearer' \
    || fail "401 without WWW-Authenticate: Bearer"
ok "every /api route and /metrics: 401 without a token or with a wrong one"
for path in /health /api/openapi.json / /static/app.js; do
    must 200 none GET "$path"
done
ok "/health, /api/openapi.json and the dashboard's files need no token"

must 200 "$READ" GET /api/v1/whoami
[ "$(jq -c . "$T/body")" = '{"name":"viewer","role":"read"}' ] || fail "whoami: $(cat "$T/body")"
must 200 "$READ" GET /api/v1/jobs
must 403 "$READ" POST /api/train -d '{"epochs":1}'
[ "$(jq -r .error.code "$T/body")" = forbidden ] && grep -q "needs submit" "$T/body" \
    || fail "403's error: $(cat "$T/body")"
must 403 "$READ" POST /api/v1/datasets --data-binary "@$MT_TEST_DATA/sample_dataset.csv"
must 403 "$READ" POST /api/v1/jobs/1/stop
ok "role read may GET, and gets 403 forbidden for uploads, submits and stops"

must 201 "$SUBMIT" POST /api/v1/datasets --data-binary "@$MT_TEST_DATA/sample_dataset.csv"
must 200 "$SUBMIT" POST /api/train -H "Content-Type: application/json" \
    -d '{"epochs":100000,"batch_size":16,"lr":0.01}'
job=$(jq -r .job_id "$T/body")
must 200 "$SUBMIT" POST "/api/v1/jobs/$job/stop"
case $(jq -r .state "$T/body") in stopping|stopped) ;; *) fail "stop: $(cat "$T/body")" ;; esac
must 200 "$ADMIN" GET "/api/v1/jobs/$job"
must 200 "$ADMIN" GET /api/v1/whoami
[ "$(jq -r .role "$T/body")" = admin ] || fail "admin's whoami"
ok "role submit uploads, submits and stops (job $job); admin reads"

head -c 5000 /dev/zero > "$T/5k"
must 413 "$SUBMIT" POST /api/v1/datasets --data-binary "@$T/5k"
[ "$(jq -r .error.code "$T/body")" = too_large ] && grep -q -- "--max-upload" "$T/body" \
    || fail "413's error: $(cat "$T/body")"
must 413 "$SUBMIT" POST /api/v1/datasets -H "Transfer-Encoding: chunked" --data-binary "@$T/5k"
our_child "$GW_PID" || fail "the gateway is gone"
ok "an upload over --max-upload 4K: 413 too_large (with a length, and chunked)"
echo PASS
