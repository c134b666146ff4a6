#!/usr/bin/env bash
# test_stop - stop a queued job, a running job, and refuse to stop a finished one
. "$(dirname "$0")/lib.sh"

start_broker --max-queued 3
make_data "$T/big.csv" 20000

# At most 3 queued jobs per client: the fourth is refused with the reason
extra=()
for i in 1 2 3; do
    extra+=("$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 5)") || fail "submit $i"
done
if out=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y 2>&1); then
    fail "a fourth queued job was accepted"
fi
echo "$out" | grep -q "limit per client" || fail "queue limit said '$out'"
for id in "${extra[@]}"; do "$CLIENT" stop "$id" >/dev/null || fail "stop $id"; done
ok "queue limit per client: $out"

# No worker yet: the job stays queued, and status says why
q=$("$CLIENT" submit --data "$T/big.csv" --target y --epochs 5) || fail "submit"
[ "$(job_field "$q" state)" = queued ] || fail "job is not queued"
[ "$(job_field "$q" waiting)" = "no worker connected" ] || fail "waiting reason: $(job_field "$q" waiting)"
"$CLIENT" stop "$q" >/dev/null || fail "stop of a queued job"
[ "$(job_field "$q" state)" = stopped ] || fail "queued job did not stop at once"
ok "queued job stopped at once"

start_workers 1
r=$("$CLIENT" submit --data "$T/big.csv" --target y --epochs 100000 --checkpoint-every 1) || fail "submit"
wait_state "$r" running 20
wait_epoch "$r" 2 60
out=$("$CLIENT" stop "$r") || fail "stop of a running job"
echo "$out" | grep -qE "stopping|stopped" || fail "stop printed '$out'"
wait_state "$r" stopped 30
[ "$(job_field "$r" attempts[0].outcome)" = stopped ] || fail "attempt outcome"
ok "running job went stopping -> stopped"

# The worker is free again and takes the next job
n=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 5) || fail "submit"
wait_state "$n" succeeded 30
ok "worker took the next job"

# Stopping a finished job is an error that says so
if out=$("$CLIENT" stop "$n" 2>&1); then fail "stop of a finished job succeeded"; fi
echo "$out" | grep -q "already succeeded" || fail "stop of a finished job said '$out'"
ok "stop of a finished job refused: $out"
echo PASS
