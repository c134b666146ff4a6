#!/usr/bin/env bash
# test_gateway_cors - mtgateway --cors ORIGIN: the preflight (OPTIONS) and the headers on real
# requests, and none of them without --cors, for another origin, or on an unknown route
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gateway_lib.sh"

ORIGIN=https://ops.example.com
refused_usage "an empty --cors" "--cors: give one origin" "$GATEWAY" --cors ""

start_broker
# header NAME FILE: the value of header NAME in the dumped headers FILE, or nothing
header () { grep -i "^$1:" "$2" | head -1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }

start_gateway --cors "$ORIGIN"
code=$(curl -s -D "$T/pre" -o /dev/null -w '%{http_code}' -X OPTIONS "$GW/api/v1/jobs" \
       -H "Origin: $ORIGIN" -H "Access-Control-Request-Method: POST" \
       -H "Access-Control-Request-Headers: authorization, content-type")
[ "$code" = 204 ] || fail "preflight: $code, not 204: $(cat "$T/pre")"
[ "$(header Access-Control-Allow-Origin "$T/pre")" = "$ORIGIN" ] || fail "preflight's origin"
header Access-Control-Allow-Methods "$T/pre" | grep -q POST || fail "preflight's methods"
header Access-Control-Allow-Headers "$T/pre" | grep -qi authorization \
    || fail "preflight's headers do not allow Authorization"
header Access-Control-Allow-Headers "$T/pre" | grep -qi content-type \
    || fail "preflight's headers do not allow Content-Type"
[ -n "$(header Access-Control-Max-Age "$T/pre")" ] || fail "preflight without Max-Age"
ok "OPTIONS /api/v1/jobs from $ORIGIN: 204 with origin, methods, headers and max-age"

code=$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS "$GW/api/v1/nothing" -H "Origin: $ORIGIN")
[ "$code" = 404 ] || fail "preflight of an unknown route: $code, not 404"
ok "a preflight of an unknown route: 404"

code=$(curl -s -D "$T/get" -o "$T/body" -w '%{http_code}' "$GW/api/v1/jobs" -H "Origin: $ORIGIN")
[ "$code" = 200 ] || fail "GET with an Origin: $code"
[ "$(header Access-Control-Allow-Origin "$T/get")" = "$ORIGIN" ] || fail "GET's allow-origin"
header Vary "$T/get" | grep -qi origin || fail "GET without Vary: Origin"
code=$(curl -s -D "$T/post" -o "$T/body" -w '%{http_code}' -X POST "$GW/api/v1/jobs" \
       -H "Origin: $ORIGIN" -H "Content-Type: application/json" -d '{"epochs":"x"}')
[ "$code" = 400 ] || fail "a bad POST: $code, not 400: $(cat "$T/body")"
[ "$(header Access-Control-Allow-Origin "$T/post")" = "$ORIGIN" ] \
    || fail "an error reply has no allow-origin, so the page cannot read the error"
ok "a GET and an error reply to $ORIGIN carry Access-Control-Allow-Origin and Vary: Origin"

code=$(curl -s -D "$T/other" -o /dev/null -w '%{http_code}' "$GW/api/v1/jobs" \
       -H "Origin: https://evil.example.net")
[ "$code" = 200 ] || fail "GET from another origin: $code"
code=$(curl -s -D "$T/otherpre" -o /dev/null -w '%{http_code}' -X OPTIONS "$GW/api/v1/jobs" \
       -H "Origin: https://evil.example.net" -H "Access-Control-Request-Method: POST")
[ "$code" != 204 ] || fail "a preflight from another origin: 204"
grep -qi '^access-control-' "$T/other" "$T/otherpre" \
    && fail "Access-Control headers for another origin: $(cat "$T/other" "$T/otherpre")"
curl -s -D "$T/none" -o /dev/null "$GW/api/v1/jobs"
grep -qi '^access-control-' "$T/none" && fail "Access-Control headers with no Origin"
ok "another origin, or none: no Access-Control header (its preflight gets $code)"
kill_ours -TERM "$GW_PID"

start_gateway
code=$(curl -s -D "$T/pre2" -o /dev/null -w '%{http_code}' -X OPTIONS "$GW/api/v1/jobs" \
       -H "Origin: $ORIGIN" -H "Access-Control-Request-Method: POST")
[ "$code" != 204 ] && [ "$code" != 200 ] || fail "a preflight without --cors: $code"
curl -s -D "$T/get2" -o /dev/null "$GW/api/v1/jobs" -H "Origin: $ORIGIN"
grep -qi '^access-control-' "$T/pre2" "$T/get2" && fail "Access-Control headers without --cors"
ok "without --cors: the preflight gets $code and no reply has an Access-Control header"
echo PASS
