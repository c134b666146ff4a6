#!/usr/bin/env bash
# chaos - the chaos run of tests/integration/test_chaos.sh, bigger and longer, for manual runs:
# 200 jobs of a few seconds each on 4 workers, while workers (up to 60 times) and the broker
# (up to 8 times) are killed with SIGKILL at random moments. Prints the seed, every kill, and
# the figures: jobs, worker kills, broker kills, requeues, duplicates, lost. Exits 1 if a job
# did not succeed exactly once, or a model could not be fetched intact.
# usage: tests/bench/chaos.sh BUILD_DIR
#   env (defaults here; see test_chaos.sh for what each means):
#     MT_CHAOS_JOBS=200 MT_CHAOS_WORKERS=4 MT_CHAOS_ROWS=10000 MT_CHAOS_EPOCHS=400
#     MT_CHAOS_HIDDEN=32,32 MT_CHAOS_CHECKPOINT=20 MT_CHAOS_WORKER_KILLS=60
#     MT_CHAOS_BROKER_KILLS=8 MT_CHAOS_GAP_MIN_MS=500 MT_CHAOS_GAP_MAX_MS=3000
#     MT_CHAOS_SECONDS=300 MT_CHAOS_FINISH=600 MT_CHAOS_SEED=<random>  MT_KEEP=1 keeps the logs
set -u
BUILD=${1:?usage: tests/bench/chaos.sh BUILD_DIR}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
MT_BIN_DIR=$(cd "$BUILD" && pwd) || exit 1
for bin in mtbroker mtworker mtclient; do
    [ -x "$MT_BIN_DIR/$bin" ] || { echo "chaos: no $bin in $MT_BIN_DIR: build it first" >&2; exit 1; }
done
export MT_BIN_DIR MT_TEST_DATA=$SRC/test_data
export MT_CHAOS_JOBS=${MT_CHAOS_JOBS:-200}
export MT_CHAOS_WORKERS=${MT_CHAOS_WORKERS:-4}
export MT_CHAOS_ROWS=${MT_CHAOS_ROWS:-10000}
export MT_CHAOS_EPOCHS=${MT_CHAOS_EPOCHS:-400}
export MT_CHAOS_HIDDEN=${MT_CHAOS_HIDDEN:-32,32}
export MT_CHAOS_CHECKPOINT=${MT_CHAOS_CHECKPOINT:-20}
export MT_CHAOS_WORKER_KILLS=${MT_CHAOS_WORKER_KILLS:-60}
export MT_CHAOS_BROKER_KILLS=${MT_CHAOS_BROKER_KILLS:-8}
export MT_CHAOS_GAP_MIN_MS=${MT_CHAOS_GAP_MIN_MS:-500}
export MT_CHAOS_GAP_MAX_MS=${MT_CHAOS_GAP_MAX_MS:-3000}
export MT_CHAOS_SECONDS=${MT_CHAOS_SECONDS:-300}
export MT_CHAOS_FINISH=${MT_CHAOS_FINISH:-600}
[ -n "${MT_CHAOS_SEED:-}" ] && export MT_CHAOS_SEED
exec bash "$SRC/tests/integration/test_chaos.sh"
