#!/usr/bin/env bash
# test_worker_checkpoints - periodic checkpoints wait out mtworker --checkpoint-min-ms; a stop
# checkpoints at once; the option is in --help, with every option before the signal paragraph
. "$(dirname "$0")/lib.sh"

# --help: all options first, then the paragraphs on checkpoints and signals
help=$("$WORKER" --help) || fail "mtworker --help"
for opt in --checkpoint-min-ms -q --version; do
    echo "$help" | grep -q -- "^  $opt" || fail "--help lacks $opt"
done
late=$(echo "$help" | awk '/^SIGTERM/ { after = 1 } after && /^  -/ { print }')
[ -z "$late" ] || fail "options after the signal paragraph: $late"
echo "$help" | grep -q "no sooner" || fail "--help does not explain the checkpoint floor"
ok "--help lists every option before the signal paragraph"

start_broker
# Worker 1 has a floor of 60 s, longer than this test can take to reach its check, so the
# check does not depend on the machine's speed; worker 2 has no floor
"${WRAP[@]}" "$WORKER" --broker "$WORKERS" --cache-dir "$T/cache-1" --progress-ms 100 \
    --checkpoint-min-ms 60000 >>"$T/worker-1.log" 2>&1 &
WORKER_PID=$!
PIDS+=("$WORKER_PID")
wait_for "worker 1" 10 workers_connected 1

# A fast job (iris: an epoch in about a millisecond) with a checkpoint due every 10 epochs
# writes none within the floor
j=$("$CLIENT" submit --data "$MT_TEST_DATA/iris.csv" --target species --task classification \
    --epochs 1000000 --checkpoint-every 10) || fail "submit"
wait_state "$j" running 20
wait_epoch "$j" 200 30
sleep 1
e=$(job_field "$j" progress.epoch)
c=$(job_field "$j" checkpoint_epoch)
[ "$c" = null ] || [ "$c" = 0 ] || fail "checkpoint at epoch $c within the floor (epoch $e)"
ok "no periodic checkpoint within the floor (epoch $e, checkpoint_epoch $c)"

# A stop checkpoints whatever the floor
stop_checkpointed "$j"
ok "the stop checkpointed at epoch $STOPPED_EPOCH"

# Without the floor the same job checkpoints every 10 epochs
stop_worker
start_worker 2 --checkpoint-min-ms 0
k=$("$CLIENT" submit --data "$MT_TEST_DATA/iris.csv" --target species --task classification \
    --epochs 1000000 --checkpoint-every 10) || fail "submit"
wait_state "$k" running 20
has_checkpoint () { c=$(job_field "$k" checkpoint_epoch); [ "$c" != null ] && [ "$c" -gt 0 ]; }
wait_for "a periodic checkpoint with --checkpoint-min-ms 0" 10 has_checkpoint
"$CLIENT" stop "$k" >/dev/null || fail "stop"
wait_state "$k" stopped 30
ok "--checkpoint-min-ms 0: periodic checkpoints at once"
echo PASS
