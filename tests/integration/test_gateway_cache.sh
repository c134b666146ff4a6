#!/usr/bin/env bash
# test_gateway_cache - GET /api/v1/jobs/{id} from the gateway's cache: a second read is a hit
# with the same bytes; once a job's progress or state event is on the event stream, a GET
# never returns the map from before it; the broker going away and restarting flushes the cache
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gateway_lib.sh"

start_broker
start_workers 1
start_gateway
curl -sN "$GW/api/v1/events" > "$T/stream" 2>/dev/null &
PIDS+=("$!")
wait_for "the stream to open" 10 grep -q '^: ping' "$T/stream"

events_of () {      # the stream's messages as JSON lines {event, data}
    awk '/^event: / { ev = substr($0, 8) }
         /^data: / { printf "{\"event\":\"%s\",\"data\":%s}\n", ev, substr($0, 7); ev = "" }' \
        "$T/stream"
}
has_event () {      # TYPE JQ-FILTER
    events_of | jq -se --arg t "$1" "any(.[]; .event == \$t and (.data | $2))" >/dev/null 2>&1
}
# get ID: the body into $T/body; prints the HTTP code and X-Cache ("200 hit")
get () {
    local code
    code=$(curl -s -D "$T/headers" -o "$T/body" -w '%{http_code}' "$GW/api/v1/jobs/$1")
    echo "$code $(tr -d '\r' <"$T/headers" | awk -F': ' 'tolower($1) == "x-cache" { print $2 }')"
}
not_hit () { [ "$(get "$1")" != "200 hit" ]; }

# A finished job: the first read asks the broker, the second is the cache's, byte for byte
make_data "$T/d.csv" 2000
a=$("$CLIENT" submit --data "$T/d.csv" --target y --epochs 2 --name done) || fail "submit"
wait_trained "$a" succeeded 60
wait_for "job $a's succeeded event" 30 has_event state ".job_id == $a and .job.state == \"succeeded\""
[ "$(get "$a")" = "200 miss" ] || fail "first read of job $a: $(cat "$T/headers")"
cp "$T/body" "$T/first"
[ "$(get "$a")" = "200 hit" ] || fail "second read of job $a is not a hit: $(cat "$T/headers")"
cmp -s "$T/first" "$T/body" || fail "the cached answer differs from the broker's"
"$CLIENT" status "$a" --json | jq -e '.state == "succeeded"' >/dev/null || fail "status"
jq -e ".id == $a and .state == \"succeeded\" and (.history | length) > 0" "$T/body" >/dev/null \
    || fail "the cached map: $(head -c 300 "$T/body")"
ok "job $a: a miss, then a hit with the same bytes"

# A running job: each read is cached, then its next progress event must make the next read new
make_data "$T/big.csv" 20000
b=$("$CLIENT" submit --data "$T/big.csv" --target y --epochs 100000 --name long) || fail "submit"
wait_state "$b" running 60
max_step () {       # the largest progress.step of job b's events on the stream so far
    events_of | jq -s "map(select(.event == \"progress\" and .data.job_id == $b)
                       | .data.progress.step) | max // -1"
}
for round in 1 2 3 4 5; do
    get "$b" >/dev/null
    before=$(jq '.progress.step // -1' "$T/body")
    get "$b" >/dev/null         # likely a hit now, holding step $before
    wait_for "a progress event of job $b past step $before" 30 \
        has_event progress ".job_id == $b and .progress.step > $before"
    seen=$(max_step)
    [ "$(get "$b" | cut -d' ' -f1)" = 200 ] || fail "GET job $b: $(cat "$T/body")"
    got=$(jq '.progress.step // -1' "$T/body")
    [ "$got" -ge "$seen" ] || fail "round $round: GET gave step $got after the stream showed $seen"
done
ok "job $b: after each progress event on the stream, GET shows that step or a later one"
"$CLIENT" stop "$b" >/dev/null || fail "stop"
wait_for "job $b's stopped event" 60 has_event state ".job_id == $b and .job.state == \"stopped\""
get "$b" >/dev/null
jq -e '.state == "stopped"' "$T/body" >/dev/null || fail "after the stopped event: $(jq .state "$T/body")"
ok "job $b: after its stopped event, GET says stopped"

# The broker goes away: nothing is served from the cache; once it is back, the first read is new
[ "$(get "$a")" = "200 hit" ] || get "$a" >/dev/null
[ "$(get "$a")" = "200 hit" ] || fail "job $a is not cached before the restart"
resyncs=$(grep -c '^event: resync' "$T/stream" || true)
kill_ours -TERM "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
wait_for "the cache to be flushed with the broker away" 20 not_hit "$a"
start_broker
wait_for "a resync event" 30 sh -c "[ \$(grep -c '^event: resync' '$T/stream') -gt $resyncs ]"
first=""
for _ in $(seq 200); do
    first=$(get "$a")
    case $first in 200\ *) break ;; esac
    sleep 0.1
done
[ "$first" = "200 miss" ] || fail "the first read after the restart: '$first', not '200 miss'"
[ "$(get "$a")" = "200 hit" ] || fail "after the restart, job $a is not cached again"
ok "the broker's restart flushed the cache; reads fill it again"
echo PASS
