#!/usr/bin/env bash
# test_failures - drain, broker kill -9, retries with backoff, poison job, time limit, stall
. "$(dirname "$0")/lib.sh"
need sqlite3 sqlite3

start_broker --stall-timeout 3
make_data "$T/big.csv" 20000
start_workers 2

# Drain: SIGTERM to a busy worker hands its job back; it resumes on the other. The job is
# long enough on any CPU (a fixed few hundred epochs ended before the drain on a fast one)
j=$("$CLIENT" submit --data "$T/big.csv" --target y --epochs 100000 --checkpoint-every 1) \
    || fail "submit"
wait_state "$j" running 20
wait_epoch "$j" 3 60
w=$(job_worker_pid "$j") || fail "drain: no worker of ours to signal"
kill -TERM "$w"
resumed () { [ "$(job_field "$j" attempts[1].resumed_from_epoch 2>/dev/null)" -gt 0 ] 2>/dev/null; }
wait_for "the drained job to resume on the other worker" 60 resumed
[ "$(job_field "$j" attempts[0].outcome)" = drained ] || fail "drained attempt outcome: $(job_field "$j" attempts[0].outcome)"
wait_epoch "$j" "$(( $(job_field "$j" attempts[1].resumed_from_epoch) + 1 ))" 60
wait_for "the drained worker to exit" 10 bash -c "! kill -0 $w 2>/dev/null"
ok "drained worker handed its job back, it resumed from epoch $(job_field "$j" attempts[1].resumed_from_epoch) and went on"
"$CLIENT" stop "$j" >/dev/null || fail "stop $j"
wait_state "$j" stopped 30
start_worker 3
wait_for "2 workers" 10 workers_connected 2

# kill -9 the broker with jobs running and queued; restart: every job ends once
ids=()
for i in 1 2 3 4; do
    ids+=("$("$CLIENT" submit --data "$T/big.csv" --target y --epochs 250 --checkpoint-every 5 --seed "$i")")
done
#  A job may run and finish between two polls: started is what matters here
wait_for "job ${ids[0]} to start" 20 bash -c "\"$CLIENT\" status ${ids[0]} --json | jq -e '.state == \"running\" or .state == \"succeeded\"' >/dev/null"
kill -9 "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
start_broker --stall-timeout 3
for id in "${ids[@]}"; do wait_state "$id" succeeded 180; done
dups=$(sqlite3 "$T/mt.db" "select count(*) from (select job from attempts where outcome='succeeded' group by job having count(*) > 1)")
[ "$dups" = 0 ] || fail "jobs that succeeded more than once: '$dups'"
ok "broker kill -9 and restart: 4 jobs ended once each"

# Poison job: its training process is killed on every attempt; retries back off, then it fails
p=$("$CLIENT" submit --data "$T/big.csv" --target y --epochs 100000 --max-retries 2) || fail "submit"
for attempt in 1 2 3; do
    wait_for "attempt $attempt to run" 60 bash -c "[ \"\$($CLIENT status $p --json | jq -r '.state + \" \" + (.attempt|tostring)')\" = 'running $attempt' ]"
    wait_for "the training process" 20 training_pid "$p" "$attempt"
    kill_ours -9 "$(training_pid "$p" "$attempt")" || fail "attempt $attempt: no training process to kill"
    [ "$attempt" -lt 3 ] && wait_state "$p" queued 20 && job_field "$p" waiting | grep -q "backing off" || true
done
wait_state "$p" failed 30
[ "$(job_field "$p" attempt)" = 3 ] || fail "poison job ran $(job_field "$p" attempt) attempts, not 3"
job_field "$p" error | grep -q "signal 9" || fail "poison job error: $(job_field "$p" error)"
[ "$("$CLIENT" status "$p" --json | jq '[.attempts[].outcome] | map(select(. == "crashed")) | length')" = 3 ] || fail "attempt outcomes"
ok "poison job failed after 3 attempts: $(job_field "$p" error)"

# Time limit: the job fails with the reason
t=$("$CLIENT" submit --data "$T/big.csv" --target y --epochs 100000 --time-limit 2) || fail "submit"
wait_state "$t" failed 30
job_field "$t" error | grep -q "time limit" || fail "time limit error: $(job_field "$t" error)"
ok "time limit: $(job_field "$t" error)"

# Stall: the training process is frozen (SIGSTOP) while its worker heartbeats
s=$("$CLIENT" submit --data "$T/big.csv" --target y --epochs 100000) || fail "submit"
wait_state "$s" running 20
wait_for "the training process" 20 training_pid "$s" 1
child=$(training_pid "$s" 1)
kill_ours -STOP "$child" || fail "no training process to freeze"
wait_state "$s" failed 30
job_field "$s" error | grep -q "stall" || fail "stall error: $(job_field "$s" error)"
kill_ours -CONT "$child" 2>/dev/null || true       # the worker may have killed it already
ok "stall: $(job_field "$s" error)"
echo PASS
