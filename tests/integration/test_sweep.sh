#!/usr/bin/env bash
# test_sweep - a sweep across 3 workers survives worker and broker kill -9s; resume re-runs only what did not finish
. "$(dirname "$0")/lib.sh"
need jq
need sqlite3 sqlite3

sweep_json () { "$CLIENT" sweep status "$1" --json; }
sweep_state () { sweep_json "$1" | jq -r .state; }
sweep_ended () { [ "$(sweep_state "$1")" != running ]; }
# the pruned trials as "job|error" lines, sorted
pruned_set () {
    local job
    for job in $(sweep_json "$1" | jq -r '.trials[] | select(.state == "pruned") | .job'); do
        echo "$job|$(job_field "$job" error)"
    done | sort
}
running_trial () { "$CLIENT" list --sweep "$1" --state running --json | jq -r '.[0].id // empty'; }
# "JOB PID": a running trial and the worker of ours that runs it, looked for up to 30 s (a
# trial seen running can end before its worker is read: these trials are fast)
running_trial_pid () {
    local j pid i
    for i in $(seq 300); do
        j=$(running_trial "$1")
        if [ -n "$j" ] && pid=$(job_worker_pid "$j" 2>/dev/null); then
            echo "$j $pid"
            return 0
        fi
        sleep 0.1
    done
    return 1
}
pruned_count () { sweep_json "$1" | jq '[.trials[] | select(.state == "pruned")] | length'; }
progress_of () { sweep_json "$1" | jq -c '[.trials[] | [.state, .epochs_run]]'; }

start_broker
start_workers 3
make_data "$T/train.csv" 20000
common=(--data "$T/train.csv" --target y --epochs 27 --checkpoint-every 1 --hidden 32
        --batch-size 8 --val-split 0.25 --max-retries 5)

# Bad sweeps are refused before anything runs, naming what to fix
out=$("$CLIENT" sweep "${common[@]}" --search grid --param lr=log-uniform:1e-3:1e-1 2>&1) \
    && fail "a grid over a range was taken"
echo "$out" | grep -q "param lr: grid search takes lists" || fail "grid range: $out"
out=$("$CLIENT" sweep "${common[@]}" --param 'lr=0.1|-3' 2>&1) && fail "lr -3 was taken"
echo "$out" | grep -q 'the trial {"lr":-3' || fail "bad trial: $out"
out=$("$CLIENT" sweep "${common[@]}" --param 'speed=1|2' 2>&1) && fail "an unknown field was taken"
echo "$out" | grep -q "no spec field is called 'speed'" || fail "unknown field: $out"
refused_usage "no --param" "give at least one --param NAME=SPACE" "$CLIENT" sweep "${common[@]}"
refused_usage "a bad search" "--search: 'bayes' is not grid or random" \
    "$CLIENT" sweep "${common[@]}" --param 'lr=0.1|0.2' --search bayes
refused_usage "a bad sweep id" "'x' is not a sweep id" "$CLIENT" sweep status x
[ "$("$CLIENT" sweep list --json | jq length)" = 0 ] || fail "a refused sweep was recorded"
ok "bad sweeps refused, naming the parameter"

# 12 random trials, 3 at a time, ASHA at epochs 1, 3, 9, 27 and 81 (eta 3); 243 epochs (the
# last --epochs is taken), so the trials that go on outlast the kills below on a fast CPU
s=$("$CLIENT" sweep "${common[@]}" --epochs 243 --param 'lr=log-uniform:1e-4:3e-2' \
    --param 'hidden=8|32|32,32' --search random --trials 12 --seed 7 --parallel 3 \
    --early-stop asha --min-epochs 1 --reduction 3 --name chaos) || fail "sweep"
draws=$(sweep_json "$s" | jq -c '[.trials[] | .params] | sort_by(.lr)')
[ "$(sweep_json "$s" | jq '.trials | length')" = 12 ] || fail "not 12 trials"
active=$("$CLIENT" list --sweep "$s" --json | jq '[.[] | select(.state == "queued" or .state == "running")] | length')
[ "$active" -le 3 ] || fail "$active trials queued or running with --parallel 3"
ok "sweep $s: 12 trials drawn, at most 3 at once"

# kill -9 a worker mid-trial; a new one takes its place
read -r j pid <<< "$(running_trial_pid "$s")" || true
[ -n "$pid" ] || fail "no trial ran on a worker of ours within 30 s"
wait_epoch "$j" 1 60
kill_hard "$pid"
start_worker 4
ok "killed the worker of trial job $j"

# once some trial is pruned, kill -9 the broker mid-sweep and restart it
has_pruned () { [ "$(pruned_count "$1")" -gt 0 ]; }
wait_for "a pruned trial" 60 has_pruned "$s"
left=$(sweep_json "$s" | jq '[.trials[] | select(.state != "succeeded" and .state != "pruned")] | length')
before=$(pruned_set "$s")
rungs () { sqlite3 "$T/mt.db" "SELECT rung, job, decision, value, cutoff FROM rungs WHERE sweep = $1 ORDER BY 1, 2"; }
decided=$(rungs "$s")
kill_hard "$BROKER_PID"
start_broker
# trials go on pruning after the restart: those pruned before stay so, for the same reason
after=$(pruned_set "$s")
while read -r line; do
    echo "$after" | grep -qxF "$line" || fail "pruned trial lost or changed by the restart: $line"
done <<< "$before"
[ "$left" -gt 0 ] || fail "the sweep ended before the broker was killed"
ok "broker kill -9 with $left trials unfinished: $(echo "$before" | wc -l) pruned trials kept, with their reasons"

# and a second worker kill -9, after the restart
read -r j pid <<< "$(running_trial_pid "$s")" || true
[ -n "$pid" ] || fail "no trial ran on a worker of ours within 30 s of the broker's restart"
kill_hard "$pid"
start_worker 5
ok "killed the worker of trial job $j after the broker's restart"

wait_moving 60 "sweep_ended $s" "progress_of $s" || fail "sweep $s stalled"
[ "$(sweep_state "$s")" = finished ] || fail "sweep $s is $(sweep_state "$s")"
# every rung decision made before the broker's kill (go on or prune) stands as it was
now=$(rungs "$s")
while read -r line; do
    [ -z "$line" ] || echo "$now" | grep -qxF "$line" || fail "rung decision lost or changed: $line"
done <<< "$decided"
ok "$(echo "$decided" | grep -c .) rung decisions from before the kill stand; $(echo "$now" | grep -c .) in all"
final=$(sweep_json "$s")
[ "$(echo "$final" | jq -c '[.trials[] | .params] | sort_by(.lr)')" = "$draws" ] \
    || fail "the trials' parameters changed"
echo "$final" | jq -e '[.trials[] | select(.state != "succeeded" and .state != "pruned")] | length == 0' \
    >/dev/null || fail "a trial did not finish: $(echo "$final" | jq -c '[.trials[] | .state]')"
# every trial ran as one job, which ended once: one attempt with a final outcome
jobs=$("$CLIENT" list --sweep "$s" --json)
[ "$(echo "$jobs" | jq length)" = 12 ] || fail "$(echo "$jobs" | jq length) jobs for 12 trials"
[ "$(echo "$final" | jq '[.trials[] | .job] | unique | length')" = 12 ] || fail "a job ran two trials"
for job in $(echo "$jobs" | jq -r '.[].id'); do
    ends=$("$CLIENT" status "$job" --json \
           | jq '[.attempts[] | select(.outcome != "worker_lost")] | length')
    [ "$ends" = 1 ] || fail "job $job ended $ends times"
done
# the pruned set only grew, and each pruned trial says why, at which rung
now=$(pruned_set "$s")
while read -r line; do
    echo "$now" | grep -qxF "$line" || fail "pruned trial lost or changed: $line"
done <<< "$before"
job=$(echo "$final" | jq -r '[.trials[] | select(.state == "pruned")][0].job')
why=$(job_field "$job" error)
[[ $why =~ ^pruned\ by\ ASHA\ at\ rung\ [0-4]\ \(epoch\ (1|3|9|27|81)\):\ its\ value\ .*cut-off ]] \
    || fail "pruned reason: $why"
[ "$(echo "$final" | jq '.best.job')" != null ] || fail "no best trial"
best=$(echo "$final" | jq '.best.best_metric')
top=$(echo "$final" | jq '[.trials[] | select(.state == "succeeded") | .best_metric] | min')
[ "$best" = "$top" ] || fail "best $best is not the best finished trial's $top"
"$CLIENT" sweep fetch "$s" -o "$T/best.model" >/dev/null || fail "sweep fetch"
[ -s "$T/best.model" ] || fail "no model fetched"
ok "every trial ended exactly once; the leaderboard's best ($best) fetched"

# resume: stop a sweep midway; resume runs its stopped trials again, and nothing else
r=$("$CLIENT" sweep "${common[@]}" --param 'lr=0.001|0.003|0.01|0.03' --search grid \
    --parallel 2 --early-stop none --name resume) || fail "sweep"
wait_for "a running trial" 30 running_trial "$r"
wait_epoch "$(running_trial "$r")" 1 60
"$CLIENT" sweep stop "$r" >/dev/null || fail "sweep stop"
wait_moving 30 "eval [ \"\$(\"$CLIENT\" list --sweep $r --json | jq '[.[] | select(.state == \"stopping\" or .state == \"running\")] | length')\" = 0 ]" \
    "progress_of $r" || fail "stopped trials did not end"
[ "$(sweep_state "$r")" = stopped ] || fail "sweep $r is $(sweep_state "$r")"
stopped=$(sweep_json "$r" | jq '[.trials[] | select(.state == "stopped" or .state == "failed")] | length')
kept=$(sweep_json "$r" | jq -c '[.trials[] | select(.state == "succeeded" or .state == "pruned") | .job] | sort')
again=$(sweep_json "$r" | jq -r '.trials[] | select(.state == "stopped" or .state == "failed") | .job')
jobs=$(sweep_json "$r" | jq -c '[.trials[] | .job | select(. != null)] | sort')
[ "$stopped" -ge 1 ] || fail "no trial was stopped"
resumed=$("$CLIENT" sweep resume "$r" --json | jq .resumed)
[ "$resumed" = "$stopped" ] || fail "resume re-ran $resumed trials, not the $stopped stopped ones"
wait_moving 60 "sweep_ended $r" "progress_of $r" || fail "resumed sweep stalled"
[ "$(sweep_state "$r")" = finished ] || fail "resumed sweep is $(sweep_state "$r")"
sweep_json "$r" | jq -e '[.trials[] | select(.state != "succeeded")] | length == 0' >/dev/null \
    || fail "resumed sweep: $(sweep_json "$r" | jq -c '[.trials[] | .state]')"
still=$(sweep_json "$r" | jq -c --argjson kept "$kept" '[.trials[] | .job | select(. as $j | $kept | index($j))] | sort')
[ "$still" = "$kept" ] || fail "a finished trial ran again: $kept / $still"
# a stopped trial runs its own job again, as that job's next attempt, from its checkpoint
now=$(sweep_json "$r" | jq -c '[.trials[] | .job | select(. != null)] | sort')
[ "$(echo "$now" | jq length)" = 4 ] || fail "a trial has no job: $now"
jq -n -e --argjson was "$jobs" --argjson now "$now" '$was - $now == []' >/dev/null \
    || fail "resume gave trials other jobs: $jobs / $now"
[ "$("$CLIENT" list --sweep "$r" --json | jq length)" = 4 ] || fail "resume made new jobs"
from=0
for j in $again; do
    "$CLIENT" status "$j" --json | jq -e '.attempts | length >= 2' >/dev/null \
        || fail "job $j was not run again as a new attempt"
    e=$("$CLIENT" status "$j" --json | jq '[.attempts[].resumed_from_epoch] | max')
    [ "$e" -gt "$from" ] && from=$e
done
[ "$from" -ge 1 ] || fail "no stopped trial resumed from its checkpoint"
out=$("$CLIENT" sweep resume "$r" 2>&1) && fail "resuming a finished sweep was taken"
echo "$out" | grep -q "never run again" || fail "resume of a finished sweep: $out"
ok "resume ran the $stopped stopped trials again, from epoch $from at most, and no finished one"

# the median rule: one trial at a time, the good ones first; a far worse one is cut at epoch 2
m=$("$CLIENT" sweep --data "$MT_TEST_DATA/digits.csv" --target digit --task classification \
    --epochs 6 --param 'lr=0.01|0.0001' --search grid --parallel 1 --early-stop median \
    --min-epochs 2 --name median) || fail "median sweep"
wait_moving 60 "sweep_ended $m" "progress_of $m" || fail "median sweep stalled"
states=$(sweep_json "$m" | jq -c '[.trials[] | .state] | sort')
[ "$states" = '["pruned","succeeded"]' ] || fail "median sweep: $states"
job=$(sweep_json "$m" | jq -r '.trials[] | select(.state == "pruned") | .job')
why=$(job_field "$job" error)
[[ $why =~ ^pruned\ by\ the\ median\ rule\ at\ epoch\ 2:\ its\ best\ val_loss\ so\ far ]] \
    || fail "median reason: $why"
[ "$(job_field "$job" params.lr)" = 0.0001 ] || fail "the median rule cut lr $(job_field "$job" params.lr)"
[ "$(sweep_json "$m" | jq -r '.trials[] | select(.state == "pruned") | .error')" = "$why" ] \
    || fail "the leaderboard does not say why the trial was pruned"
"$CLIENT" sweep status "$m" | grep -qF "job $job: $why" || fail "sweep status does not say why: $why"
ok "the median rule cut the far worse trial at epoch 2; the leaderboard says why"

# --watch follows a sweep to its end (looking at its best trial alone meanwhile), then prints
# the whole leaderboard: the line the sweep's submission printed, then the final one
w=$("$CLIENT" sweep --data "$MT_TEST_DATA/iris.csv" --target species --task classification \
    --epochs 3 --param 'lr=0.01|0.03|0.1' --search grid --parallel 2 --early-stop none \
    --name watched --watch --json) || fail "sweep --watch: $w"
[ "$(echo "$w" | wc -l)" = 2 ] || fail "sweep --watch --json printed: $w"
echo "$w" | tail -1 | jq -e '.state == "finished" and (.trials | length) == 3 and .more == 0
                             and (.best.job | type) == "number"' >/dev/null \
    || fail "sweep --watch's leaderboard: $(echo "$w" | tail -1)"
text=$("$CLIENT" sweep --data "$MT_TEST_DATA/iris.csv" --target species --task classification \
       --epochs 3 --param 'lr=0.01|0.03' --search grid --parallel 1 --early-stop none --watch) \
    || fail "sweep --watch: $text"
[ "$(echo "$text" | grep -c 'lr')" -ge 2 ] || fail "sweep --watch's leaderboard: $text"
ok "sweep --watch waited for the end and printed every trial"

# a leaderboard of 10,000 trials: capped by size (the best first, `more` counts the rest), or
# its best N with --top; never a reply over the message limit
big=$("$CLIENT" sweep "${common[@]}" --param 'lr=log-uniform:1e-4:1e-1' \
      --param 'weight_decay=uniform:0:0.01' --param 'batch_size=int-uniform:16:256' \
      --param 'hidden=256,256,256,256,256,256|128,128,128,128,128,128|64,64,64,64,64,64' \
      --trials 10000 --parallel 1 --name big) || fail "a sweep of 10,000 trials"
"$CLIENT" sweep stop "$big" >/dev/null || fail "sweep stop $big"
lb=$("$CLIENT" sweep status "$big" --json) || fail "the leaderboard of 10,000 trials: $lb"
shown=$(echo "$lb" | jq '.trials | length')
more=$(echo "$lb" | jq .more)
[ "$more" -gt 0 ] && [ $(( shown + more )) = 10000 ] || fail "10,000 trials: $shown shown, $more more"
top=$("$CLIENT" sweep status "$big" --top 7 --json | jq -c '[(.trials | length), .more]')
[ "$top" = "[7,9993]" ] || fail "--top 7: $top"
"$CLIENT" sweep status "$big" --top 7 | grep -q "and 9993 more trials, not shown" \
    || fail "the text leaderboard does not say what it left out"
refused_usage "a bad --top" "--top: 0 is out of range (1 to 10000)" "$CLIENT" sweep status "$big" --top 0
ok "a leaderboard of 10,000 trials: $shown shown, $more counted in more; --top 7"

# the first trials count against the broker's queued-jobs limit per client
kill -TERM "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
start_broker --max-queued 2
out=$("$CLIENT" sweep "${common[@]}" --param 'lr=0.1|0.01|0.001' --search grid --parallel 3 2>&1) \
    && fail "a sweep past --max-queued was taken"
echo "$out" | grep -q "would queue 3 trials beside your 0 queued jobs, past the limit per client of 2" \
    || fail "max-queued: $out"
"$CLIENT" sweep "${common[@]}" --param 'lr=0.1|0.01|0.001' --search grid --parallel 2 >/dev/null \
    || fail "a sweep within --max-queued was refused"
ok "a sweep's first trials count against --max-queued"
