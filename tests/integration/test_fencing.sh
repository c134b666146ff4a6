#!/usr/bin/env bash
# test_fencing - a frozen worker comes back after its job moved on: fenced; stop grace period
. "$(dirname "$0")/lib.sh"
need sqlite3 sqlite3

start_broker
make_data "$T/big.csv" 20000
start_workers 2

# Freeze the worker holding a job (as a network cut would look to the broker)
j=$("$CLIENT" submit --data "$T/big.csv" --target y --epochs 200 --checkpoint-every 1) || fail "submit"
wait_state "$j" running 20
wait_epoch "$j" 2 60
w=$(job_field "$j" worker)
pid=$(job_worker_pid "$j") || fail "no worker of ours to freeze"
kill -STOP "$pid"
wait_for "the job to move to another worker" 30 bash -c "[ \"\$($CLIENT status $j --json | jq -r .attempt)\" = 2 ]"
ok "frozen worker $w lost; job $j requeued as attempt 2"
kill -CONT "$pid"
wait_state "$j" succeeded 120
wait_for "the stale attempt to be abandoned" 20 grep -q "superseded: abandoning it\|is superseded: abandoning" "$T/worker-1.log" "$T/worker-2.log"
[ "$(job_field "$j" attempt)" = 2 ] || fail "attempt changed to $(job_field "$j" attempt)"
[ "$(sqlite3 "$T/mt.db" "select count(*) from attempts where job=$j and outcome='succeeded'")" = 1 ] || fail "job ended more than once"
[ "$(job_field "$j" attempts[0].outcome)" = worker_lost ] || fail "attempt 1 outcome"
kill -0 "$pid" || fail "the fenced worker died"
ok "the worker came back, was told to abandon attempt 1, and the job ended once"

# Stop grace: a training process that cannot answer (frozen) is killed, and the job stops
s=$("$CLIENT" submit --data "$T/big.csv" --target y --epochs 100000) || fail "submit"
wait_state "$s" running 20
wait_for "the training process" 20 training_pid "$s" 1
child=$(training_pid "$s" 1)
kill_ours -STOP "$child" || fail "no training process to freeze"
"$CLIENT" stop "$s" >/dev/null || fail "stop"
wait_state "$s" stopped 40
wait_for "the frozen training process to be killed" 20 bash -c "! kill -0 $child 2>/dev/null"
ok "frozen training process killed after the grace period; job stopped"
echo PASS
