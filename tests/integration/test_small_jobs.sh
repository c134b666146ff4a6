#!/usr/bin/env bash
# test_small_jobs - a trivial job's short path: the training process is a fork of its worker,
# named mtworker-job, working in its job's folder and holding none of the worker's sockets,
# kept across jobs (a kill -9 of it fails that attempt only, and the retry gets a new one; a
# worker killed -9 leaves none behind); within --checkpoint-min-ms a job that is done stores
# its model and no last-epoch checkpoint, without the floor both, and a stop still checkpoints
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
left=$(cd "$T/cache-1/jobs" && ls -A | grep -vx .lock)   # .lock: held by the workers on this cache
[ "$left" = .spare ] || fail "after job $j the jobs folder holds '$left', not the spare folder alone"
ok "job $j's folder is gone; the spare one serves the next job"

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

# The training process is kept: the next job trains in the same one
long () {
    "$CLIENT" submit --data "$MT_TEST_DATA/iris.csv" --target species --task classification \
        --epochs 1000000
}
k2=$(long) || fail "submit"
wait_state "$k2" running 20
wait_epoch "$k2" 2 30
kept=$(training_pid "$k2" 1) || fail "no training process works in job $k2's folder"
[ "$kept" = "$child" ] || fail "job $k2 trains in process $kept, not in the kept $child"
ok "job $k2 trains in the process job $k did, $child"

# A kill -9 of it fails that attempt only: the retry trains in a new process
kill_ours -9 "$kept" || fail "cannot kill $kept"
wait_for "job $k2's second attempt to train" 30 training_pid "$k2" 2
fresh=$(training_pid "$k2" 2)
[ "$fresh" != "$kept" ] || fail "the retry trains in the killed process $kept"
ok "after a kill -9 of $kept, attempt 2 of job $k2 trains in process $fresh"
stop_checkpointed "$k2"

# Without the floor the last epoch's checkpoint goes before the model
stop_worker
start_worker 2 --checkpoint-min-ms 0
m=$(trivial) || fail "submit"
wait_state "$m" succeeded 30
[ "$(job_field "$m" checkpoint_epoch)" = 1 ] || fail "no last-epoch checkpoint without the floor"
ok "--checkpoint-min-ms 0: the last epoch's checkpoint is stored too"

# A worker killed -9 between jobs leaves no training process behind: the one it kept reads
# the end of its command pipe and exits
n=$(long) || fail "submit"
wait_epoch "$n" 2 30
idle=$(training_pid "$n" 1) || fail "no training process works in job $n's folder"
stop_checkpointed "$n"
ours "$idle" || fail "the training process $idle did not outlive job $n"
kill_hard "$WORKER_PID"
gone () { ! kill -0 "$1" 2>/dev/null || ! ours "$1"; }
wait_for "the kept training process $idle to exit" 10 gone "$idle"
ok "a worker killed -9 leaves no training process: $idle exited"

# A worker killed -9 mid-job leaves the job's folder; the next worker on that cache removes it
start_worker 3
p=$(long) || fail "submit"
wait_epoch "$p" 2 30
a=$(job_field "$p" attempt)         # 2 when the killed worker 2 took attempt 1 unseen
busy=$(training_pid "$p" "$a") || fail "no training process works in job $p's folder"
[ -d "$T/cache-3/jobs/$p-$a" ] || fail "job $p has no folder in cache-3"
kill_hard "$WORKER_PID"
wait_for "the training process $busy to exit" 10 gone "$busy"
[ -d "$T/cache-3/jobs/$p-$a" ] || fail "the folder of job $p went with its worker"
start_worker 3
wait_for "the folder left by the killed worker to go" 10 test ! -e "$T/cache-3/jobs/$p-$a"
grep -q "removed 1 job folders left in" "$T/worker-3.log" || fail "the removal was not logged"
ok "a worker's folder left by a kill -9 (job $p) is removed when the next worker starts on its cache"
echo PASS
