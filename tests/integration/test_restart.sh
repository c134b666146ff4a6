#!/usr/bin/env bash
# test_restart - jobs survive a clean broker restart; a lost worker's job finishes elsewhere
. "$(dirname "$0")/lib.sh"

start_broker
make_data "$T/big.csv" 20000
a=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 5 --name before) || fail "submit"
q=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 5 --name queued) || fail "submit"
kill -TERM "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
grep -q "shutting down" "$T/broker.log" || fail "broker did not shut down cleanly"
start_broker
[ "$(job_field "$a" name)" = before ] || fail "job $a lost across restart"
[ "$(job_field "$q" state)" = queued ] || fail "job $q not queued after restart"
ok "jobs survive a clean restart"

# The database and blobs are private to the broker's user
[ "$(stat -c %a "$T/mt.db")" = 600 ] || fail "database mode is $(stat -c %a "$T/mt.db")"
[ "$(stat -c %a "$T/data")" = 700 ] || fail "data folder mode is $(stat -c %a "$T/data")"
bad=$(find "$T/data" -type f ! -perm 600 | head -3)
[ -z "$bad" ] || fail "blobs not private: $bad"
ok "database 0600, data folder 0700, blobs 0600"

start_workers 2
wait_state "$a" succeeded 30
wait_state "$q" succeeded 30
ok "queued jobs ran after the restart"

# kill -9 the worker running a long job: it is requeued, attempt 2 resumes from a checkpoint.
# The job is long enough on any CPU (400 epochs took 0.5 s on a fast one), stopped at the end
j=$("$CLIENT" submit --data "$T/big.csv" --target y --epochs 100000 --checkpoint-every 1 \
    --seed 3) || fail "submit"
wait_state "$j" running 20
wait_epoch "$j" 3 60
victim=$(job_field "$j" worker)
pid=$(job_worker_pid "$j") || fail "no worker of ours to kill"
kill_hard "$pid"
ok "killed worker $victim"
second () { [ "$(job_field "$j" attempt)" = 2 ] && [ "$(job_field "$j" state)" = running ]; }
wait_for "job $j to run again as attempt 2" 60 second
resumed=$(job_field "$j" attempts[1].resumed_from_epoch)
[ "$resumed" -gt 0 ] || fail "second attempt did not resume from a checkpoint"
wait_epoch "$j" $(( resumed + 1 )) 60
[ "$(job_field "$j" attempts[0].outcome)" = worker_lost ] || fail "first attempt outcome"
[ "$(job_field "$j" worker)" != "$victim" ] || fail "job runs on the dead worker"
"$CLIENT" stop "$j" >/dev/null || fail "stop $j"
wait_state "$j" stopped 30
[ "$(job_field "$j" attempt)" = 2 ] || fail "attempt is $(job_field "$j" attempt), not 2"
ok "lost worker's job went on elsewhere, attempt 2 resumed from epoch $resumed"

# A second broker on the same database is refused, naming the first
if "$BROKER" --clients "tcp://127.0.0.1:$(free_port)" --workers "tcp://127.0.0.1:$(free_port)" \
        --db "$T/mt.db" --data-dir "$T/data" >"$T/second.log" 2>&1; then
    fail "a second broker ran on the same database"
fi
grep -q "another mtbroker (pid $BROKER_PID) uses this database" "$T/second.log" \
    || fail "second broker: $(cat "$T/second.log")"
"$CLIENT" list >/dev/null || fail "the first broker stopped answering"
ok "a second broker on the same database is refused: $(tail -1 "$T/second.log")"
echo PASS
