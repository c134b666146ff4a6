#!/usr/bin/env bash
# test_jobs_paging - list pages with a cursor through every job with no gap or duplicate; a stopped
# job's checkpoint is fetched and the job resumed from it as its next attempt; delete removes an
# ended job and refuses a running one; transfers draw no bar when output is captured
. "$(dirname "$0")/lib.sh"

start_broker
make_data "$T/small.csv" 200
N=60
for i in $(seq "$N"); do
    "$CLIENT" submit --data "$T/small.csv" --target y --epochs 1 --name "batch$((i % 2))" \
        >>"$T/ids" 2>>"$T/submit.err" || fail "submit $i: $(tail -1 "$T/submit.err")"
done
grep -q $'\r' "$T/submit.err" && fail "a progress bar was drawn into captured stderr"

# Pages of 7, following next: every id once, newest first
before=""
: > "$T/paged"
pages=0
while :; do
    "$CLIENT" list --page --limit 7 ${before:+--before "$before"} --json > "$T/page.json" \
        || fail "list --page --before $before"
    jq -r '.jobs[].id' "$T/page.json" >> "$T/paged"
    pages=$((pages + 1))
    before=$(jq -r '.next // empty' "$T/page.json")
    [ -n "$before" ] || break
    [ "$pages" -le "$N" ] || fail "paging does not end"
done
[ "$(wc -l < "$T/paged")" = "$N" ] || fail "pages hold $(wc -l < "$T/paged") jobs, not $N"
[ "$(sort -n "$T/paged" | uniq | wc -l)" = "$N" ] || fail "a job came twice"
diff <(sort -n "$T/ids") <(sort -n "$T/paged") >/dev/null || fail "paged ids differ from submitted"
sort -rn -c "$T/paged" 2>/dev/null || fail "pages are not newest first"
[ "$pages" = $(( (N + 6) / 7 )) ] || fail "$pages pages of 7 for $N jobs"
ok "$N jobs in $pages pages, no gap or duplicate"

# The whole list as before (a JSON array), by name, and a limit over 4 MiB of maps no longer fails
[ "$("$CLIENT" list --limit 10000 --json | jq length)" = "$N" ] || fail "list --limit 10000"
[ "$("$CLIENT" list --limit 10000 --name batch1 --json | jq 'map(select(.name == "batch1")) | length')" \
    = $((N / 2)) ] || fail "list --name"
"$CLIENT" list --page --limit 5 | grep -q "^next: " || fail "the table does not say where the next page starts"
ok "list --limit 10000 and --name"

# Resume: a long job stopped with a checkpoint goes on from it as attempt 2
for id in $(cat "$T/ids"); do "$CLIENT" stop "$id" >/dev/null || fail "stop $id"; done
start_workers 1
j=$("$CLIENT" submit --data "$MT_TEST_DATA/iris.csv" --target species --task classification \
    --epochs 1000000 --checkpoint-every 10) || fail "submit the long job"
wait_state "$j" running 20
wait_epoch "$j" 20 30
"$CLIENT" delete "$j" 2>"$T/delete.err" && fail "deleted a running job"
grep -q "stop it first" "$T/delete.err" || fail "delete of a running job: $(cat "$T/delete.err")"
"$CLIENT" stop "$j" >/dev/null || fail "stop"
wait_state "$j" stopped 30
c=$(job_field "$j" checkpoint_epoch)
[ "$c" -gt 0 ] || fail "no checkpoint to resume from"
"$CLIENT" fetch "$j" --checkpoint -o "$T/ckpt" 2>"$T/fetch.err" >/dev/null || fail "fetch --checkpoint: $(cat "$T/fetch.err")"
[ -s "$T/ckpt" ] || fail "the checkpoint file is empty"
grep -q $'\r' "$T/fetch.err" && fail "a progress bar was drawn into captured stderr"
"$CLIENT" resume "$j" --json > "$T/resume.json" || fail "resume"
[ "$(jq -r .state "$T/resume.json")" = queued ] || fail "resumed job is $(jq -r .state "$T/resume.json")"
"$CLIENT" resume "$j" 2>/dev/null && fail "resumed a queued job"
wait_state "$j" running 20
at_two () { [ "$(job_field "$j" attempt)" = 2 ] && [ "$(job_field "$j" 'attempts[-1].resumed_from_epoch')" -ge "$c" ]; }
wait_for "attempt 2 resumed from epoch $c" 20 at_two
ok "stopped at checkpoint epoch $c, checkpoint fetched, resumed as attempt 2"

# Delete: the ended job goes; its neighbours stay
"$CLIENT" stop "$j" >/dev/null
wait_state "$j" stopped 30
"$CLIENT" delete "$j" --json > "$T/delete.json" || fail "delete"
[ "$(jq -r .job "$T/delete.json")" = "$j" ] || fail "delete said $(cat "$T/delete.json")"
"$CLIENT" status "$j" 2>/dev/null && fail "the deleted job is still there"
first=$(head -1 "$T/ids")
"$CLIENT" delete "$first" >/dev/null || fail "delete $first"
[ "$("$CLIENT" list --limit 10000 --json | jq length)" = $((N - 1)) ] || fail "delete removed other jobs"
ok "delete removes an ended job only"

# The worker removed each job's folder when the job ended
[ -z "$(ls "$T/cache-1/jobs")" ] || fail "job folders left on the worker: $(ls "$T/cache-1/jobs")"
ok "no job folder left on the worker"
