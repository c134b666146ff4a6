#!/bin/bash
# run_fleet_rate - a tabular job's training rate through the fleet against the engine's own
# rate on the same model and data, in one run: a real mtbroker and one mtworker on loopback
# in a temp folder, case (b) of run_train.sh (10 -> 64 -> 64 -> 1 ReLU, MSE, Adam lr 0.01,
# batch 32, no validation, shuffled) submitted through mtclient, and `bench_train tab` on the
# same CSV. The job's rate is rows x epochs / (finished_at - started_at) from
# `mtclient status --json`; the engine's is bench_train's samples/s (the loop only). Each
# round also prints the job's own loop rate and the loop's share of the job's time, which
# a loaded machine moves far less than it moves the ratio of two processes' rates.
# Prints the machine line first, both rates and their ratio (target: >= 0.80). Informational:
# exits 0 on a miss, 1 when something did not run.
# usage: tests/bench/run_fleet_rate.sh BUILD_DIR [ROWS [EPOCHS [ROUNDS]]]
#   defaults: 100000 rows, 5 epochs, 3 rounds (job then engine, each round; best of each kept)
set -u
BUILD=${1:?usage: run_fleet_rate.sh BUILD_DIR [ROWS [EPOCHS [ROUNDS]]]}
ROWS=${2:-100000}
EPOCHS=${3:-5}
ROUNDS=${4:-3}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
PY=/usr/bin/python3
export MT_BIN_DIR=$BUILD MT_TEST_DATA=$SRC/test_data
# temp folder, free ports, real processes killed by pid on exit
# shellcheck source=../integration/lib.sh
. "$SRC/tests/integration/lib.sh"
need bc bc
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE sh "$SRC/tests/bench/machine.sh"

cmake --build "$BUILD" --target mtbroker mtworker mtclient mt_engine mt_proto \
    >"$T/build.log" 2>&1 || { cat "$T/build.log"; fail "build"; }
cc -O2 -D_GNU_SOURCE -I "$SRC/include" -I "$SRC/worker/engine/include" \
   "$SRC/tests/bench/bench_train.c" "$BUILD/libmt_engine.a" "$BUILD/libmt_proto.a" \
   $(pkg-config --cflags --libs openblas jansson libczmq libzmq msgpack libsodium) -lm \
   -o "$T/bench_train" || fail "bench_train did not build"
"$PY" -c "import numpy" 2>/dev/null || fail "$PY lacks numpy (bench_train.py make-tab)"
"$PY" "$SRC/tests/bench/bench_train.py" make-tab "$T/tab.csv" "$ROWS" || fail "make-tab"

unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export OPENBLAS_NUM_THREADS=1
start_broker
# the worker as a user runs it: default progress and checkpoint cadence, one thread
"$WORKER" --broker "$WORKERS" --cache-dir "$T/cache" --threads 1 >>"$T/worker.log" 2>&1 &
PIDS+=("$!")
wait_for "the worker" 10 workers_connected 1

# the job's rate from its record: rows x epochs over started_at -> finished_at (ms)
job_rate () {
    "$CLIENT" status "$1" --json | jq -r --argjson rows "$ROWS" --argjson epochs "$EPOCHS" \
        'if .state == "succeeded" then ($rows * $epochs) / ((.finished_at - .started_at) / 1000)
         else "state \(.state)" end'
}

best_job=0 best_engine=0
for round in $(seq "$ROUNDS"); do
    id=$("$CLIENT" submit --data "$T/tab.csv" --target y --hidden 64,64 --activation relu \
             --optimizer adam --lr 0.01 --batch-size 32 --epochs "$EPOCHS" --val-split 0 \
             --checkpoint-every 0 --seed "$round" --name "fleet-rate-$round") \
        || fail "submit: $(tail -n 3 "$T/broker.log")"
    wait_trained "$id" succeeded 60
    job=$(job_rate "$id")
    case $job in state*) fail "job $id: $job";; esac
    [ "$round" = 1 ] && "$CLIENT" status "$id" --json \
        | jq -c '{started_at, finished_at, epochs: .progress.epoch, loop_s: .metrics.seconds}' \
        >"$T/job1.json"
    engine=$("$T/bench_train" tab "$T/tab.csv" 1 1 | sed -n 's/.*samples_per_s \([0-9.]*\).*/\1/p')
    [ -n "$engine" ] || fail "bench_train tab printed no rate"
    # the job's own loop (train_result_t.seconds, as bench_train times it) against its
    # started -> finished time, both from the same run: the fleet's overhead (fetch, fork
    # and exec, load, standardization, final metrics, save, upload, commit) whatever the
    # machine's load does to the two processes' rates
    read -r loop share <<<"$("$CLIENT" status "$id" --json \
        | jq -r --argjson n "$(( ROWS * EPOCHS ))" \
          '"\($n / .metrics.seconds) \(.metrics.seconds * 1000 / (.finished_at - .started_at))"')"
    printf 'round %d: job %s %.0f rows/s (its loop alone %.0f, %.0f%% of its time),' \
        "$round" "$id" "$job" "$loop" "$(echo "$share * 100" | bc -l)"
    printf ' engine %.0f samples/s,' "$engine"
    printf ' ratio %.2f\n' "$(echo "$job / $engine" | bc -l)"
    best_job=$(echo "if ($job > $best_job) $job else $best_job" | bc -l)
    best_engine=$(echo "if ($engine > $best_engine) $engine else $best_engine" | bc -l)
done
ratio=$(echo "$best_job / $best_engine" | bc -l)
verdict=$(echo "$ratio >= 0.8" | bc -l)
printf 'fleet job (best of %d): %.0f rows/s (%d rows x %d epochs); engine (bench_train tab,' \
    "$ROUNDS" "$best_job" "$ROWS" "$EPOCHS"
printf ' best of %d): %.0f samples/s; ratio %.2f >= 0.80 %s\n' "$ROUNDS" "$best_engine" \
    "$ratio" "$([ "$verdict" = 1 ] && echo PASS || echo MISS)"
echo "first job's record: $(cat "$T/job1.json")"
echo "after: $(sh "$SRC/tests/bench/machine.sh")"
