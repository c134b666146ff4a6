#!/usr/bin/env bash
# test_worker_edges - a worker pointed at the clients socket, or at a --data-root that is not a
# folder, exits 2 saying why; a spec with a control byte is refused before it reaches a worker;
# a training that stops moving fails as stalled at its step
. "$(dirname "$0")/lib.sh"

start_broker --stall-timeout 2
touch "$T/a-file"

# The clients socket answers HELLO with bad_command: the worker says so and exits 2
rc=0
timeout 60 "$WORKER" --broker "$CLIENTS" --cache-dir "$T/cache-wrong" >"$T/wrong.log" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "mtworker on the clients socket exited $rc, not 2: $(cat "$T/wrong.log")"
grep -q "reached the broker's clients socket" "$T/wrong.log" || fail "no word of the clients socket: $(cat "$T/wrong.log")"
grep -q -- "point --broker at the broker's workers socket" "$T/wrong.log" || fail "no fix given: $(cat "$T/wrong.log")"
ok "on the clients socket: $(tail -n 1 "$T/wrong.log")"

# --data-root must be an existing folder
for root in "$T/nonexistent" "$T/a-file"; do
    rc=0
    timeout 60 "$WORKER" --broker "$WORKERS" --cache-dir "$T/cache-root" --data-root "$root" \
        >"$T/root.log" 2>&1 || rc=$?
    [ "$rc" = 2 ] || fail "mtworker --data-root $root exited $rc, not 2"
    grep -q -- "--data-root '$root'" "$T/root.log" || fail "--data-root error says: $(cat "$T/root.log")"
    ok "--data-root ${root##*/}: $(cat "$T/root.log")"
done
[ ! -e "$T/cache-root" ] || fail "a worker refused at start made its cache folder"

# A control byte in a name is refused at submit, and nothing is queued
rc=0
out=$("$CLIENT" submit --data "$MT_TEST_DATA/iris.csv" --target $'spe\x01cies' --task classification 2>&1) || rc=$?
[ "$rc" = 2 ] || fail "a target with a control byte: exit $rc ($out)"
echo "$out" | grep -q "holds a control character (0x01 at byte 3)" || fail "control byte error says '$out'"
[ "$("$CLIENT" list --json | jq length)" = 0 ] || fail "a refused spec was queued"
ok "control byte in --target: $out"

# A training that stops moving (its process paused, its worker heartbeating) fails as
# stalled at the step it last reported
start_workers 1
make_data "$T/big.csv" 20000
j=$("$CLIENT" submit --data "$T/big.csv" --target y --epochs 100000 --batch-size 1 \
    --max-retries 0) || fail "submit"
wait_for "job $j to report a step" 120 epoch_at_least "$j" 0
child=$(training_pid "$j" 1) || fail "no training process for job $j"
kill_ours -STOP "$child" || fail "cannot pause the training"
wait_state "$j" failed 120
err=$(job_field "$j" error)
step=$(job_field "$j" progress.step)
[ "$err" = "the training stalled at step $step for 2 s (mtbroker --stall-timeout)" ] \
    || fail "stall error says '$err' (step $step)"
[ "$(job_field "$j" 'attempts[0].outcome')" = stalled ] || fail "outcome is not stalled"
ok "stalled: $err"
echo PASS
