#!/usr/bin/env bash
# test_small_jobs - a trivial job's short path: the training process is a fork of its worker,
# named mtworker-job, working in its job's folder and holding none of the worker's sockets;
# within --checkpoint-min-ms a job that is done stores its model and no last-epoch checkpoint,
# without the floor both, and a stop still checkpoints
. "$(dirname "$0")/lib.sh"

start_broker
start_worker 1 --checkpoint-min-ms 60000
wait_for "worker 1" 10 workers_connected 1

trivial () {
    "$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 1 \
        --val-split 0
}

j=$(trivial) || fail "submit"
wait_state "$j" succeeded 30
[ "$(job_field "$j" model_hash)" != null ] || fail "job $j succeeded without a model"
c=$(job_field "$j" checkpoint_epoch)
[ "$c" = null ] || [ "$c" = 0 ] || fail "a done job within the floor stored checkpoint $c"
ok "within the floor a done job stores its model only"

# A long job, to look at its training process while it runs
k=$("$CLIENT" submit --data "$MT_TEST_DATA/iris.csv" --target species --task classification \
    --epochs 1000000) || fail "submit"
wait_state "$k" running 20
wait_epoch "$k" 5 30
child=$(training_pid "$k" 1) || fail "no training process works in job $k's folder"
[ "$(cat /proc/"$child"/comm)" = mtworker-job ] || fail "training process named $(cat /proc/"$child"/comm)"
[ "$(job_folder "$child")" = "$T/cache-1/jobs/$k-1" ] || fail "works in $(job_folder "$child")"
sockets=$(find /proc/"$child"/fd -mindepth 1 -maxdepth 1 -lname 'socket:*' | wc -l)
[ "$sockets" -eq 0 ] || fail "the training process holds $sockets of the worker's sockets"
[[ "$(readlink /proc/"$child"/fd/3)" == pipe:* ]] || fail "fd 3 of the training process is no pipe"
ok "the training process $child: mtworker-job, in its job's folder, no socket, reports on fd 3"

# A stop within the floor checkpoints all the same
stop_checkpointed "$k"
ok "a stop within the floor checkpointed at epoch $STOPPED_EPOCH"

# Without the floor the last epoch's checkpoint goes before the model
stop_worker
start_worker 2 --checkpoint-min-ms 0
m=$(trivial) || fail "submit"
wait_state "$m" succeeded 30
[ "$(job_field "$m" checkpoint_epoch)" = 1 ] || fail "no last-epoch checkpoint without the floor"
ok "--checkpoint-min-ms 0: the last epoch's checkpoint is stored too"
echo PASS
