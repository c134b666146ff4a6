#!/bin/sh
# run_broker - the broker's capacity benchmark: jobs/s, submit-to-start latency, progress/s and
# real-worker figures, side by side with beanstalkd (binlog default and -f 0). Informational:
# prints PASS/MISS per target and exits 0 unless something could not run at all.
# usage: tests/bench/run_broker.sh BUILD_DIR [JOBS]
#   env: BENCH_DIR (parent of the temp folder; default $TMPDIR or /tmp: it decides what fsync costs)
#        CLIENTS=8 WINDOW=32 WORKERS=128 FEW_WORKERS=16 SAMPLES=2000 PROGRESS=200000
#        REAL_JOBS=200 REAL_SAMPLES=100 (throughput is measured with WORKERS and FEW_WORKERS)
#        SKIP_REAL=1 to skip the mtworker part, SKIP_BEANSTALKD=1 to skip beanstalkd
set -eu
BUILD=${1:?usage: run_broker.sh BUILD_DIR [JOBS]}
JOBS=${2:-20000}
CLIENTS=${CLIENTS:-8}
WINDOW=${WINDOW:-32}
WORKERS=${WORKERS:-128}
FEW_WORKERS=${FEW_WORKERS:-16}
SAMPLES=${SAMPLES:-2000}
PROGRESS=${PROGRESS:-200000}
REAL_JOBS=${REAL_JOBS:-200}
REAL_SAMPLES=${REAL_SAMPLES:-100}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
TMP=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/mt-bench.XXXXXX")
PIDS=""

cleanup () {
    for pid in $PIDS; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $PIDS; do
        wait "$pid" 2>/dev/null || true
    done
    PIDS=""
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

cmake --build "$BUILD" --target mtbroker mtworker mt_proto >"$TMP/build.log" 2>&1 \
    || { cat "$TMP/build.log"; exit 1; }
DEPS=$(pkg-config --cflags --libs libczmq libzmq msgpack jansson libsodium libtcmalloc_minimal)
# shellcheck disable=SC2086
cc -O2 -D_GNU_SOURCE -I "$SRC/include" -I "$SRC/proto" "$SRC/tests/bench/bench_broker.c" \
   "$BUILD/libmt_proto.a" $DEPS -lm -o "$TMP/bench_broker"
cc -O2 -D_GNU_SOURCE "$SRC/tests/bench/bench_beanstalkd.c" -o "$TMP/bench_beanstalkd"
B="$TMP/bench_broker"

# A fresh broker in its own folder on two free loopback ports; sets CEP, WEP, BPID.
start_broker () {
    dir="$TMP/$1"
    mkdir -p "$dir"
    set -- $("$B" ports 2)
    CEP="tcp://127.0.0.1:$1"
    WEP="tcp://127.0.0.1:$2"
    "$BUILD/mtbroker" --clients "$CEP" --workers "$WEP" --db "$dir/mt.db" \
        --data-dir "$dir/data" --max-queued 1000000 -q 2>>"$TMP/broker.log" &
    BPID=$!
    PIDS="$PIDS $BPID"
}

stop () {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# The value of key in a RESULT line.
field () {
    echo "$1" | sed -n "s/^RESULT .*[ ]$2=\([^ ]*\).*/\1/p"
}

echo "== mt broker capacity benchmark: $(nproc) cores, $(df -T "$TMP" | awk 'NR==2 {print $2}')" \
     "under ${BENCH_DIR:-${TMPDIR:-/tmp}}, SQLite WAL, every commit fdatasync'ed before any reply"

start_broker jobs
OUT=$("$B" throughput "$CEP" "$WEP" "$JOBS" "$CLIENTS" "$WINDOW" "$WORKERS" shared) || true
echo "$OUT" | grep -v '^RESULT'
MT_JOBS=$(field "$OUT" jobs_per_s)
stop "$BPID"

start_broker jobs-few
OUT=$("$B" throughput "$CEP" "$WEP" "$JOBS" "$CLIENTS" "$WINDOW" "$FEW_WORKERS" shared) || true
echo "$OUT" | grep -v '^RESULT'
MT_FEW=$(field "$OUT" jobs_per_s)
stop "$BPID"

start_broker jobs-unique
OUT=$("$B" throughput "$CEP" "$WEP" "$JOBS" "$CLIENTS" "$WINDOW" "$WORKERS" unique) || true
echo "$OUT" | grep -v '^RESULT'
MT_JOBS_UNIQUE=$(field "$OUT" jobs_per_s)
stop "$BPID"

start_broker latency
OUT=$("$B" latency "$CEP" "$WEP" "$SAMPLES") || true
echo "$OUT" | grep -v '^RESULT'
LAT_P50=$(field "$OUT" p50_ms)
LAT_P99=$(field "$OUT" p99_ms)
stop "$BPID"

start_broker progress
OUT=$("$B" progress "$CEP" "$WEP" "$PROGRESS") || true
echo "$OUT" | grep -v '^RESULT'
PROG=$(field "$OUT" msgs_per_s)
if command -v sqlite3 >/dev/null 2>&1; then
    echo "progress rows in the history: $(sqlite3 "$TMP/progress/mt.db" 'SELECT count(*) FROM progress')"
fi
stop "$BPID"

REAL=""
REAL_P50=""
REAL_P99=""
if [ -z "${SKIP_REAL:-}" ]; then
    start_broker real
    for i in 1 2; do
        mkdir -p "$TMP/real/w$i"
        "$BUILD/mtworker" --broker "$WEP" --cache-dir "$TMP/real/w$i" --progress-ms 1000 -q \
            2>>"$TMP/worker.log" &
        PIDS="$PIDS $!"
    done
    OUT=$("$B" real "$CEP" "$SRC/test_data/sample_dataset.csv" 2 "$REAL_JOBS" "$REAL_SAMPLES") || true
    echo "$OUT" | grep -v '^RESULT'
    REAL=$(field "$OUT" jobs_per_s)
    REAL_P50=$(field "$OUT" p50_ms)
    REAL_P99=$(field "$OUT" p99_ms)
    stop "$BPID"
fi

BS_DEF=""
BS_F0=""
BS_FEW_DEF=""
BS_FEW_F0=""
if [ -z "${SKIP_BEANSTALKD:-}" ]; then
    BEANSTALKD=$(command -v beanstalkd || true)
    if [ -z "$BEANSTALKD" ]; then
        echo "beanstalkd: not installed (apt-get install -y beanstalkd), skipped"
    else
        for run in "default $WORKERS" "f0 $WORKERS" "default $FEW_WORKERS" "f0 $FEW_WORKERS"; do
            set -- $run
            mode=$1
            n=$2
            rm -rf "$TMP/bs"
            mkdir -p "$TMP/bs"
            PORT=$("$B" ports 1)
            if [ "$mode" = f0 ]; then
                "$BEANSTALKD" -l 127.0.0.1 -p "$PORT" -b "$TMP/bs" -f 0 &
            else
                "$BEANSTALKD" -l 127.0.0.1 -p "$PORT" -b "$TMP/bs" &
            fi
            BS=$!
            PIDS="$PIDS $BS"
            OUT=$("$TMP/bench_beanstalkd" "$PORT" "$JOBS" "$CLIENTS" "$WINDOW" "$n") || true
            echo "beanstalkd ($mode binlog): $(echo "$OUT" | grep -v '^RESULT')"
            value=$(field "$OUT" jobs_per_s)
            case "$mode $n" in
                "default $WORKERS") BS_DEF=$value ;;
                "f0 $WORKERS") BS_F0=$value ;;
                "default $FEW_WORKERS") BS_FEW_DEF=$value ;;
                "f0 $FEW_WORKERS") BS_FEW_F0=$value ;;
            esac
            stop "$BS"
        done
    fi
fi

# The summary: figures, ratios and the issue's targets (informational)
awk -v mt="$MT_JOBS" -v mtu="$MT_JOBS_UNIQUE" -v def="$BS_DEF" -v f0="$BS_F0" \
    -v few="$MT_FEW" -v fdef="$BS_FEW_DEF" -v ff0="$BS_FEW_F0" -v w="$WORKERS" -v fw="$FEW_WORKERS" \
    -v p50="$LAT_P50" -v p99="$LAT_P99" -v prog="$PROGRESS" -v progr="$PROG" \
    -v real="$REAL" -v rp50="$REAL_P50" -v rp99="$REAL_P99" -v jobs="$JOBS" 'BEGIN {
    printf "\n== summary (%d jobs per throughput run)\n", jobs
    printf "%-58s %14s\n", "measure", "value"
    printf "%-58s %14s\n", "mt broker jobs/s (shared model hash), " w " workers", mt == "" ? "failed" : mt
    printf "%-58s %14s\n", "mt broker jobs/s (a model uploaded per job), " w " workers", mtu == "" ? "failed" : mtu
    printf "%-58s %14s\n", "beanstalkd jobs/s, binlog default fsync, " w " consumers", def == "" ? "skipped" : def
    printf "%-58s %14s\n", "beanstalkd jobs/s, -f 0 (fsync every write), " w " consumers", f0 == "" ? "skipped" : f0
    printf "%-58s %14s\n", "mt broker jobs/s (shared model hash), " fw " workers", few == "" ? "failed" : few
    printf "%-58s %14s\n", "beanstalkd jobs/s, binlog default, " fw " consumers", fdef == "" ? "skipped" : fdef
    printf "%-58s %14s\n", "beanstalkd jobs/s, -f 0, " fw " consumers", ff0 == "" ? "skipped" : ff0
    printf "%-58s %14s\n", "submit-to-start p50 / p99, ms (idle worker)", p50 == "" ? "failed" : p50 " / " p99
    printf "%-58s %14s\n", "progress messages/s into the history", progr == "" ? "failed" : progr
    printf "%-58s %14s\n", "real mtworkers: trivial jobs/s (2 workers)", real == "" ? "skipped" : real
    printf "%-58s %14s\n", "real: submit-to-first-step p50 / p99, ms (upper bound)", rp50 == "" ? "skipped" : rp50 " / " rp99
    if (mt != "" && def != "") printf "ratio mt / beanstalkd default binlog (%d workers): %.2fx\n", w, mt / def
    if (mt != "" && f0 != "") printf "ratio mt / beanstalkd -f 0 (%d workers):           %.2fx\n", w, mt / f0
    if (few != "" && fdef != "") printf "ratio mt / beanstalkd default binlog (%d workers):  %.2fx\n", fw, few / fdef
    if (few != "" && ff0 != "") printf "ratio mt / beanstalkd -f 0 (%d workers):            %.2fx\n", fw, few / ff0
    print "\n== targets (from the issue; informational)"
    verdict("broker jobs/s >= beanstalkd default binlog", mt != "" && def != "", mt >= def)
    verdict("broker jobs/s >= 5x beanstalkd -f 0", mt != "" && f0 != "", mt >= 5 * f0)
    verdict("submit-to-start p99 < 2 ms", p99 != "", p99 < 2)
    verdict("progress >= 50,000 messages/s", progr != "", progr >= 50000)
    verdict("real: submit-to-first-step p99 < 50 ms", rp99 != "", rp99 < 50)
}
function verdict (what, known, ok) {
    printf "%-48s %s\n", what, !known ? "n/a" : ok ? "PASS" : "MISS"
}'
exit 0
