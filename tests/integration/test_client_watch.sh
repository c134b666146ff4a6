#!/usr/bin/env bash
# test_client_watch - watch --json and submit --watch --json print NDJSON; watch follows a job
# across a broker kill -9 and restart, and gives up after --reconnect when none comes back
. "$(dirname "$0")/lib.sh"

start_broker
start_workers 1
make_data "$T/data.csv" 5000

# ndjson_ok FILE: every line of FILE is one JSON document
ndjson_ok () {
    local line n=0
    while IFS= read -r line; do
        n=$(( n + 1 ))
        echo "$line" | jq -e 'type == "object"' >/dev/null 2>&1 \
            || fail "$1: line $n is not one JSON object: $line"
    done <"$1"
    [ "$n" -gt 0 ] || fail "$1 is empty"
}

# submit --watch --json: the {"id", "existing"} line, then job maps, the last one final
"$CLIENT" submit --data "$MT_TEST_DATA/iris.csv" --target species --task classification \
    --epochs 5 --watch --json >"$T/submit.out" 2>"$T/submit.err" \
    || fail "submit --watch --json: $(cat "$T/submit.out" "$T/submit.err")"
ndjson_ok "$T/submit.out"
head -n 1 "$T/submit.out" | jq -e 'keys == ["existing", "id"] and .existing == false' >/dev/null \
    || fail "submit --watch --json's first line: $(head -n 1 "$T/submit.out")"
id=$(head -n 1 "$T/submit.out" | jq .id)
tail -n +2 "$T/submit.out" | jq -se --argjson id "$id" 'length >= 1 and all(.[]; .id == $id)' \
    >/dev/null || fail "submit --watch --json's job lines: $(cat "$T/submit.out")"
tail -n 1 "$T/submit.out" | jq -e '.state == "succeeded" and has("history")' >/dev/null \
    || fail "submit --watch --json's last line: $(tail -n 1 "$T/submit.out")"
ok "submit --watch --json: $(wc -l <"$T/submit.out") NDJSON lines"

# watch across a broker restart: kill -9, then a new broker on the same folder and ports
k=$("$CLIENT" submit --data "$T/data.csv" --target y --epochs 1000000 --hidden 32) || fail "submit"
wait_epoch "$k" 1 60
"$CLIENT" watch "$k" --json --timeout 1 --reconnect 120 >"$T/watch.out" 2>"$T/watch.err" &
watcher=$!
PIDS+=("$watcher")
wait_for "watch to print a line" 30 grep -q '"state":"running"' "$T/watch.out"
kill_hard "$BROKER_PID"
wait_for "watch to say it reconnects" 30 grep -q "reconnecting to follow job $k" "$T/watch.err"
kill -0 "$watcher" 2>/dev/null || fail "watch gave up when the broker went: $(cat "$T/watch.err")"
start_broker
wait_for "watch to see the broker again" 60 grep -q "answers again; following job $k" "$T/watch.err"
step=$(job_step "$k")
wait_for "the job to move on after the restart" 60 bash -c \
    "[ \"\$('$CLIENT' status $k --json | jq .progress.step)\" -gt $step ]"
"$CLIENT" stop "$k" >/dev/null || fail "stop"
rc=0
wait "$watcher" || rc=$?
[ "$rc" = 1 ] || fail "watch of a stopped job exited $rc: $(cat "$T/watch.err")"
ndjson_ok "$T/watch.out"
tail -n 2 "$T/watch.out" | head -n 1 | jq -e '.state == "stopped"' >/dev/null \
    || fail "watch --json's final job map: $(tail -n 2 "$T/watch.out")"
tail -n 1 "$T/watch.out" | jq -e '.error.code == "job_stopped" and (.error.message | test("stopped"))' \
    >/dev/null || fail "watch --json's last line: $(tail -n 1 "$T/watch.out")"
head -n -1 "$T/watch.out" | jq -se --argjson id "$k" 'all(.[]; .id == $id)' >/dev/null \
    || fail "watch --json printed another job's map"
head -n -2 "$T/watch.out" | jq -se 'all(.[]; has("history") | not)' >/dev/null \
    || fail "watch --json's progress lines carry the history"
grep -q '^mtclient: no answer from the broker at .*; reconnecting to follow job' "$T/watch.err" \
    || fail "watch did not say it was reconnecting: $(cat "$T/watch.err")"
ok "watch followed job $k across a broker restart: $(wc -l <"$T/watch.out") lines; $(head -n 1 "$T/watch.err")"

# A broker that does not come back: watch gives up after --reconnect, exit 3
g=$("$CLIENT" submit --data "$T/data.csv" --target y --epochs 1000000 --hidden 32) || fail "submit"
wait_state "$g" running 60
"$CLIENT" watch "$g" --timeout 1 --reconnect 2 >"$T/gone.out" 2>"$T/gone.err" &
watcher=$!
PIDS+=("$watcher")
wait_for "watch to follow job $g" 30 grep -q "job $g: running" "$T/gone.out"
kill_hard "$BROKER_PID"
rc=0
wait "$watcher" || rc=$?
[ "$rc" = 3 ] && grep -q "reconnecting" "$T/gone.err" \
    && grep -q "^mtclient: gave up on the broker at .* after 2 s without an answer (--reconnect)" "$T/gone.err" \
    || fail "watch with no broker coming back: exit $rc: $(cat "$T/gone.err")"
ok "watch gives up after --reconnect: $(tail -n 1 "$T/gone.err")"
echo PASS
