#!/usr/bin/env bash
# test_gateway_sse - GET /api/v1/events: a curl -N on the stream sees a running job's state
# and progress events, pushed by the broker through the gateway's one subscription, and a
# resync after the broker restarts
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gateway_lib.sh"

start_broker
start_workers 1
start_gateway

# events_of FILE: the stream's messages as JSON lines {event, id, data}
events_of () {
    awk '/^event: / { ev = substr($0, 8) } /^id: / { id = substr($0, 5) }
         /^data: / { printf "{\"event\":\"%s\",\"id\":\"%s\",\"data\":%s}\n", ev, id,
                     substr($0, 7); ev = ""; id = "" }' "$1"
}

curl -sN -D "$T/headers" "$GW/api/v1/events" > "$T/stream" 2>/dev/null &
CURL_PID=$!
PIDS+=("$CURL_PID")
wait_for "the stream to open" 10 grep -q '^: ping' "$T/stream"
grep -qi '^content-type: text/event-stream' "$T/headers" || fail "headers: $(cat "$T/headers")"
ok "the stream is open (text/event-stream)"

make_data "$T/d.csv" 4000
job=$("$CLIENT" submit --data "$T/d.csv" --target y --epochs 3 --name sse) || fail "submit"
wait_trained "$job" succeeded 60
has_event () {      # TYPE JQ-FILTER: a message of TYPE whose data passes the filter
    events_of "$T/stream" | jq -se --arg t "$1" "any(.[]; .event == \$t and (.data | $2))" \
        >/dev/null 2>&1
}
wait_for "a succeeded state event" 30 has_event state ".job_id == $job and .job.state == \"succeeded\""
has_event state ".job_id == $job and .job.state == \"queued\"" || fail "no queued event"
has_event state ".job_id == $job and .job.state == \"running\"" || fail "no running event"
has_event progress ".job_id == $job and (.point | length) == 5 and .progress.epoch >= 1" \
    || fail "no progress event of job $job: $(head -c 600 "$T/stream")"
has_event worker '.event == "busy"' || fail "no worker busy event"
events_of "$T/stream" | jq -se 'all(.[]; .event == "resync" or (.id | tonumber) == .data.seq)' \
    >/dev/null || fail "an event's id is not its seq"
ids=$(events_of "$T/stream" | jq -r 'select(.event != "resync") | .id' | tr '\n' ' ')
sorted=$(echo "$ids" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
[ "$ids" = "$sorted" ] || fail "events out of order: $ids"
n=$(events_of "$T/stream" | jq -s 'map(select(.event == "progress")) | length')
ok "state (queued, running, succeeded), $n progress and worker events of job $job, in seq order"

# The broker restarts: its seq starts again, the gateway subscribes anew and says resync
kill_ours -TERM "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
start_broker
wait_for "a resync event" 30 grep -q '^event: resync' "$T/stream"
our_child "$CURL_PID" || fail "the stream ended when the broker restarted"
job2=$("$CLIENT" submit --data "$T/d.csv" --target y --epochs 1 --name after) || fail "submit"
wait_for "an event of job $job2" 30 has_event state ".job_id == $job2"
ok "after the broker's restart: resync, then job $job2's events on the same stream"
echo PASS
