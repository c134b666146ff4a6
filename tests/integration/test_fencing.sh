#!/usr/bin/env bash
# test_fencing - a frozen worker comes back after its job moved on: fenced; stop grace period
. "$(dirname "$0")/lib.sh"
need sqlite3 sqlite3

start_broker
make_data "$T/big.csv" 20000
start_workers 2

# Freeze the worker holding a job (as a network cut would look to the broker). The job is long
# enough on any CPU (200 epochs took 0.2 s on a fast one) and is stopped once it has moved
j=$("$CLIENT" submit --data "$T/big.csv" --target y --epochs 100000 --checkpoint-every 1) \
    || fail "submit"
wait_state "$j" running 20
wait_epoch "$j" 2 60
w=$(job_field "$j" worker)
pid=$(job_worker_pid "$j") || fail "no worker of ours to freeze"
kill -STOP "$pid"
wait_for "the job to move to another worker" 30 bash -c "[ \"\$($CLIENT status $j --json | jq -r .attempt)\" = 2 ]"
ok "frozen worker $w lost; job $j requeued as attempt 2"
kill -CONT "$pid"
wait_for "the stale attempt to be abandoned" 20 grep -q "superseded: abandoning it\|is superseded: abandoning" "$T/worker-1.log" "$T/worker-2.log"
"$CLIENT" stop "$j" >/dev/null || fail "stop $j"
wait_state "$j" stopped 30
[ "$(job_field "$j" attempt)" = 2 ] || fail "attempt changed to $(job_field "$j" attempt)"
ends=$(sqlite3 "$T/mt.db" "select group_concat(outcome) from attempts where job=$j")
[ "$ends" = "worker_lost,stopped" ] || fail "the job's attempts ended as: $ends"
kill -0 "$pid" || fail "the fenced worker died"
ok "the worker came back, was told to abandon attempt 1, and the job ended once (attempts: $ends)"

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
