#!/usr/bin/env bash
# test_sweep_delete - delete --sweep S: refused while trials run; then every trial and the sweep's rows go, other sweeps stay
. "$(dirname "$0")/lib.sh"
need sqlite3 sqlite3

start_broker
start_workers 1
make_data "$T/train.csv" 2000
common=(--data "$T/train.csv" --target y --hidden 8 --batch-size 8 --val-split 0.25
        --early-stop none --search grid --parallel 1)
trial_jobs () { "$CLIENT" list --sweep "$1" --json | jq -r '.[].id' | sort -n; }
running_trial () { "$CLIENT" list --sweep "$1" --state running --json | jq -r '.[0].id // empty'; }
all_ended () {
    [ "$("$CLIENT" list --sweep "$1" --json | jq '[.[] | select(.state == "queued" or
        .state == "running" or .state == "stopping")] | length')" = 0 ]
}
rows () { sqlite3 "$T/mt.db" "SELECT (SELECT count(*) FROM sweeps WHERE id = $1)
    + (SELECT count(*) FROM sweep_trials WHERE sweep = $1) + (SELECT count(*) FROM rungs
    WHERE sweep = $1) + (SELECT count(*) FROM sweep_epochs WHERE sweep = $1)
    + (SELECT count(*) FROM jobs WHERE sweep = $1)"; }

refused_usage "delete with neither" "give a job id or --sweep S" "$CLIENT" delete
refused_usage "delete with both" "give a job id or --sweep S" "$CLIENT" delete 1 --sweep 1
refused_usage "a bad sweep id" "--sweep: 'x' is not a sweep id" "$CLIENT" delete --sweep x

# A short sweep that ends, and a long one that runs
keep=$("$CLIENT" sweep "${common[@]}" --epochs 1 --param 'lr=0.01|0.02') || fail "sweep keep"
wait_for "sweep $keep to end" 60 all_ended "$keep"
s=$("$CLIENT" sweep "${common[@]}" --epochs 500 --param 'lr=0.01|0.02|0.03') || fail "sweep"
wait_for "a running trial of sweep $s" 30 running_trial "$s"
out=$("$CLIENT" delete --sweep "$s" 2>&1) && fail "deleted a running sweep"
echo "$out" | grep -q "stop it first (mtclient sweep stop $s)" || fail "running sweep: $out"
[ "$(rows "$s")" -gt 0 ] || fail "the refusal deleted rows"
ok "a running sweep is not deleted: $out"

"$CLIENT" sweep stop "$s" >/dev/null || fail "sweep stop"
wait_for "sweep $s's trials to end" 60 all_ended "$s"
jobs=$(trial_jobs "$s")
n=$(echo "$jobs" | wc -w)
[ "$n" -ge 1 ] || fail "sweep $s started no trial"
kept_before=$(trial_jobs "$keep")
"$CLIENT" delete --sweep "$s" --json >"$T/delete.json" || fail "delete --sweep $s"
[ "$(jq -r .sweep "$T/delete.json")" = "$s" ] && [ "$(jq -r .jobs "$T/delete.json")" = "$n" ] \
    || fail "delete said $(cat "$T/delete.json"), $n jobs expected"
# the data set is the other sweep's too: not among the blobs to remove
[ "$(jq -r .blobs "$T/delete.json")" -ge 0 ] || fail "no blob count"
[ "$(rows "$s")" = 0 ] || fail "rows of sweep $s are left: $(rows "$s")"
for j in $jobs; do
    "$CLIENT" status "$j" >/dev/null 2>&1 && fail "trial job $j is still there"
done
"$CLIENT" sweep status "$s" >/dev/null 2>&1 && fail "sweep $s is still there"
out=$("$CLIENT" delete --sweep "$s" 2>&1) && fail "deleted sweep $s twice"
echo "$out" | grep -q "no sweep $s" || fail "second delete: $out"
ok "sweep $s deleted with its $n jobs; a second delete says: $out"

[ "$(trial_jobs "$keep")" = "$kept_before" ] || fail "the other sweep's jobs changed"
"$CLIENT" sweep status "$keep" >/dev/null || fail "the other sweep went too"
h=$(sqlite3 "$T/mt.db" "SELECT data_hash FROM jobs WHERE sweep = $keep LIMIT 1")
[ -n "$h" ] && [ -n "$(find "$T/data" -name "$h*" | head -1)" ] || fail "the shared data set went"
"$CLIENT" delete --sweep "$keep" >/dev/null || fail "delete --sweep $keep"
[ "$(rows "$keep")" = 0 ] || fail "rows of sweep $keep are left"
ok "the other sweep and its data stayed until deleted in turn"
