#!/bin/sh
# run_broker - the broker's capacity benchmark: jobs/s, submit-to-start latency, progress/s and
# real-worker figures, side by side with beanstalkd (binlog default and -f 0). Informational:
# prints PASS/MISS per target and exits 0 unless something could not run at all.
# Prints the machine line (machine.sh) first, then the threads each case runs on.
# usage: tests/bench/run_broker.sh BUILD_DIR [JOBS]
#   env: BENCH_DIR (parent of the temp folder; default $TMPDIR or /tmp: it decides what fsync costs)
#        CLIENTS=8 WINDOW=32 WORKERS=128 FEW_WORKERS=16 SAMPLES=2000 PROGRESS=200000
#        REAL_JOBS=200 REAL_SAMPLES=100 (throughput is measured with WORKERS and FEW_WORKERS)
#        ROUNDS=5: throughput rounds, mt and beanstalkd taking turns in each; the summary gives
#        each figure's median (and range) over the rounds, and ratios of medians
#        SKIP_REAL=1 to skip the mtworker part, SKIP_BEANSTALKD=1 to skip beanstalkd,
#        ONLY_REAL=1 to run the mtworker part alone
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
ROUNDS=${ROUNDS:-5}
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
# the machine first: no figure below without it
sh "$SRC/tests/bench/machine.sh"

cmake --build "$BUILD" --target mtbroker mtworker mt_client mt_proto >"$TMP/build.log" 2>&1 \
    || { cat "$TMP/build.log"; exit 1; }
DEPS=$(pkg-config --cflags --libs libczmq libzmq msgpack jansson libsodium libtcmalloc_minimal)
# shellcheck disable=SC2086
cc -O2 -D_GNU_SOURCE -I "$SRC/include" -I "$SRC/proto" -I "$SRC/client" "$SRC/tests/bench/bench_broker.c" \
   "$SRC/tests/bench/zmtp_peer.c" "$BUILD/libmt_client.a" "$BUILD/libmt_proto.a" $DEPS -lm -o "$TMP/bench_broker"
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
echo "threads, every case: mtbroker runs one zloop reactor thread, one syncer thread (the" \
     "fdatasync) and libzmq's I/O thread; bench_broker drives $CLIENTS clients and the" \
     "simulated workers from one process; the real-worker case runs 2 mtworkers, each" \
     "training its job on 1 thread (mtworker's default --threads 1)"

# mt's jobs/s with $1 workers on a fresh broker, in VALUE ("" when the run failed).
# Each throughput run, mt's or beanstalkd's, starts with nothing left to write back
# and leaves nothing behind: a folder deleted before the kernel wrote it back costs
# no disk time, so no run pays for an earlier one's writes.
mt_jobs () {
    sync
    start_broker "jobs-$1-$round"
    OUT=$("$B" throughput "$CEP" "$WEP" "$JOBS" "$CLIENTS" "$WINDOW" "$1" shared) || true
    echo "$OUT" | grep -v '^RESULT'
    stop "$BPID"
    rm -rf "$TMP/jobs-$1-$round"
    VALUE=$(field "$OUT" jobs_per_s)
    CPU=$(field "$OUT" driver_cpu_s)
}

# beanstalkd's jobs/s with binlog mode $1 (default or f0) and $2 consumers, in VALUE
bs_jobs () {
    rm -rf "$TMP/bs"
    mkdir -p "$TMP/bs"
    sync
    PORT=$("$B" ports 1)
    if [ "$1" = f0 ]; then
        "$BEANSTALKD" -l 127.0.0.1 -p "$PORT" -b "$TMP/bs" -f 0 &
    else
        "$BEANSTALKD" -l 127.0.0.1 -p "$PORT" -b "$TMP/bs" &
    fi
    BS=$!
    PIDS="$PIDS $BS"
    OUT=$("$TMP/bench_beanstalkd" "$PORT" "$JOBS" "$CLIENTS" "$WINDOW" "$2") || true
    echo "beanstalkd ($1 binlog): $(echo "$OUT" | grep -v '^RESULT')"
    stop "$BS"
    rm -rf "$TMP/bs"
    VALUE=$(field "$OUT" jobs_per_s)
    CPU=$(field "$OUT" driver_cpu_s)
}

# "median min max" of the numbers given ("" when none)
stats () {
    printf '%s\n' "$@" | grep -E '^[0-9.]+$' | grep -vx '0' | sort -n | awk '{ v [NR] = $1 }
        END { if (NR) print v [int ((NR + 1) / 2)], v [1], v [NR] }'
}

BEANSTALKD=""
if [ -z "${SKIP_BEANSTALKD:-}" ]; then
    BEANSTALKD=$(command -v beanstalkd || true)
    [ -n "$BEANSTALKD" ] || echo "beanstalkd: not installed (apt-get install -y beanstalkd), skipped"
fi
# Throughput rounds: the same 2 cores serve every run, and their speed drifts over
# seconds on a shared machine, so the two systems take turns and medians are compared
MT_RUNS=""; FEW_RUNS=""; DEF_RUNS=""; F0_RUNS=""; FDEF_RUNS=""; FF0_RUNS=""
MT_CPU_RUNS=""; DEF_CPU_RUNS=""     # each driver's CPU seconds per run, at WORKERS
round=1
[ -z "${ONLY_REAL:-}" ] || round=$((ROUNDS + 1))
while [ "$round" -le "$ROUNDS" ]; do
    echo "-- round $round of $ROUNDS"
    # a run that failed counts as 0, which the statistics leave out
    mt_jobs "$WORKERS"; MT_RUNS="$MT_RUNS ${VALUE:-0}"; MT_CPU_RUNS="$MT_CPU_RUNS ${CPU:-0}"
    mt_jobs "$FEW_WORKERS"; FEW_RUNS="$FEW_RUNS ${VALUE:-0}"
    if [ -n "$BEANSTALKD" ]; then
        bs_jobs default "$WORKERS"; DEF_RUNS="$DEF_RUNS ${VALUE:-0}"
        DEF_CPU_RUNS="$DEF_CPU_RUNS ${CPU:-0}"
        bs_jobs default "$FEW_WORKERS"; FDEF_RUNS="$FDEF_RUNS ${VALUE:-0}"
        bs_jobs f0 "$WORKERS"; F0_RUNS="$F0_RUNS ${VALUE:-0}"
        bs_jobs f0 "$FEW_WORKERS"; FF0_RUNS="$FF0_RUNS ${VALUE:-0}"
    fi
    round=$((round + 1))
done
# shellcheck disable=SC2086
{
    MT_JOBS=$(stats $MT_RUNS); MT_FEW=$(stats $FEW_RUNS)
    BS_DEF=$(stats $DEF_RUNS); BS_F0=$(stats $F0_RUNS)
    BS_FEW_DEF=$(stats $FDEF_RUNS); BS_FEW_F0=$(stats $FF0_RUNS)
    MT_CPU=$(stats $MT_CPU_RUNS); BS_CPU=$(stats $DEF_CPU_RUNS)
}

MT_JOBS_UNIQUE=""; LAT_P50=""; LAT_P99=""; PROG=""
if [ -z "${ONLY_REAL:-}" ]; then
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
fi

REAL=""
REAL_P50=""
REAL_P99=""
if [ -z "${SKIP_REAL:-}" ]; then
    start_broker real
    WPIDS=""
    for i in 1 2; do
        mkdir -p "$TMP/real/w$i"
        "$BUILD/mtworker" --broker "$WEP" --cache-dir "$TMP/real/w$i" --progress-ms 1000 -q \
            2>>"$TMP/worker.log" &
        PIDS="$PIDS $!"
        WPIDS="$WPIDS $!"
    done
    OUT=$("$B" real "$CEP" "$SRC/test_data/sample_dataset.csv" 2 "$REAL_JOBS" "$REAL_SAMPLES") || true
    echo "$OUT" | grep -v '^RESULT'
    # CPU of the workers and their training processes, per job run (warm-up included): the
    # reaped ones through the worker's counts, the one it keeps across jobs (still alive)
    # read off its own; mtworker starts itself again once (exec), so its PID and counts are
    # the whole life
    TICKS=0
    for pid in $WPIDS; do
        t=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
        TICKS=$((TICKS + t))
        for kid in $(ps -o pid= --ppid "$pid"); do
            t=$(awk '{ print $14 + $15 }' "/proc/$kid/stat" 2>/dev/null || echo 0)
            TICKS=$((TICKS + t))
            KEPT="${KEPT:-}$(awk '/^VmRSS/ { printf " %d kB", $2 }' "/proc/$kid/status" 2>/dev/null)"
        done
    done
    # a process kept across jobs that leaked would grow with them
    echo "real workers: resident size of the kept training processes after the run:${KEPT:- none}"
    echo "real workers: CPU of the 2 mtworkers and their training processes: $TICKS ticks" \
         "($(getconf CLK_TCK)/s), $(awk -v t="$TICKS" -v hz="$(getconf CLK_TCK)" \
         -v n=$((REAL_JOBS + REAL_SAMPLES + 2)) 'BEGIN { printf "%.2f", t * 1000 / hz / n }') ms" \
         "per job over $((REAL_JOBS + REAL_SAMPLES + 2)) jobs"
    # the broker's own CPU (reactor, syncer and its I/O threads) per job, the same way
    BT=$(awk '{ print $14 + $15 }' "/proc/$BPID/stat" 2>/dev/null || echo 0)
    echo "real workers: CPU of the broker: $BT ticks," \
         "$(awk -v t="$BT" -v hz="$(getconf CLK_TCK)" -v n=$((REAL_JOBS + REAL_SAMPLES + 2)) \
         'BEGIN { printf "%.3f", t * 1000 / hz / n }') ms per job"
    REAL=$(field "$OUT" jobs_per_s)
    REAL_P50=$(field "$OUT" p50_ms)
    REAL_P99=$(field "$OUT" p99_ms)
    stop "$BPID"
fi

# The summary: figures, ratios and the issue's targets (informational)
awk -v mt="$MT_JOBS" -v mtu="$MT_JOBS_UNIQUE" -v def="$BS_DEF" -v f0="$BS_F0" \
    -v few="$MT_FEW" -v fdef="$BS_FEW_DEF" -v ff0="$BS_FEW_F0" -v w="$WORKERS" -v fw="$FEW_WORKERS" \
    -v p50="$LAT_P50" -v p99="$LAT_P99" -v prog="$PROGRESS" -v progr="$PROG" \
    -v real="$REAL" -v rp50="$REAL_P50" -v rp99="$REAL_P99" -v jobs="$JOBS" -v rounds="$ROUNDS" \
    -v mt_runs="$MT_RUNS" -v def_runs="$DEF_RUNS" -v few_runs="$FEW_RUNS" -v fdef_runs="$FDEF_RUNS" \
    -v mt_cpu="$MT_CPU" -v bs_cpu="$BS_CPU" -v only_real="${ONLY_REAL:-}" 'BEGIN {
    nr = only_real != "" ? "not run" : "failed"     # ONLY_REAL: the driver part did not run
    printf "\n== summary (%d jobs per throughput run; jobs/s as the median of %d rounds [min-max])\n", jobs, rounds
    printf "%-58s %20s\n", "measure", "value"
    row("mt broker jobs/s (shared model hash), " w " workers", mt, nr)
    printf "%-58s %20s\n", "mt broker jobs/s (a model uploaded per job), " w " workers",
           mtu != "" ? mtu : nr
    row("beanstalkd jobs/s, binlog default fsync, " w " consumers", def, "skipped")
    row("beanstalkd jobs/s, -f 0 (fsync every write), " w " consumers", f0, "skipped")
    row("mt broker jobs/s (shared model hash), " fw " workers", few, nr)
    row("beanstalkd jobs/s, binlog default, " fw " consumers", fdef, "skipped")
    row("beanstalkd jobs/s, -f 0, " fw " consumers", ff0, "skipped")
    row_s("driver CPU s per run: bench_broker, " w " workers", mt_cpu, nr)
    row_s("driver CPU s per run: bench_beanstalkd (default), " w, bs_cpu, "skipped")
    split (mt, m); split (def, d); split (f0, z); split (few, n); split (fdef, fd); split (ff0, fz)
    mt = m [1]; def = d [1]; f0 = z [1]; few = n [1]; fdef = fd [1]; ff0 = fz [1]
    printf "%-58s %20s\n", "submit-to-start p50 / p99, ms (idle worker)", p50 == "" ? nr : p50 " / " p99
    printf "%-58s %20s\n", "progress messages/s into the history", progr == "" ? nr : progr
    printf "%-58s %20s\n", "real mtworkers: trivial jobs/s (2 workers)", real == "" ? "skipped" : real
    printf "%-58s %20s\n", "real: submit-to-first-step p50 / p99, ms (event stream)", rp50 == "" ? "skipped" : rp50 " / " rp99
    if (mt != "" && def != "") printf "ratio mt / beanstalkd default binlog (%d workers): %.2fx\n", w, mt / def
    if (mt != "" && f0 != "") printf "ratio mt / beanstalkd -f 0 (%d workers):           %.2fx\n", w, mt / f0
    if (few != "" && fdef != "") printf "ratio mt / beanstalkd default binlog (%d workers):  %.2fx\n", fw, few / fdef
    if (few != "" && ff0 != "") printf "ratio mt / beanstalkd -f 0 (%d workers):            %.2fx\n", fw, few / ff0
    per_round("per round, mt / beanstalkd default binlog (" w " workers):", mt_runs, def_runs)
    per_round("per round, mt / beanstalkd default binlog (" fw " workers): ", few_runs, fdef_runs)
    print "\n== targets (from the issue; informational)"
    verdict("broker jobs/s >= beanstalkd default binlog", mt != "" && def != "", mt >= def)
    verdict("broker jobs/s >= 5x beanstalkd -f 0", mt != "" && f0 != "", mt >= 5 * f0)
    verdict("submit-to-start p99 < 2 ms", p99 != "", p99 < 2)
    verdict("progress >= 50,000 messages/s", progr != "", progr >= 50000)
    verdict("real: trivial jobs/s >= 600 (2 workers)", real != "", real >= 600)
    verdict("real: submit-to-first-step p99 < 5 ms", rp99 != "", rp99 < 5)
}
function row (what, stats, missing,    v) {
    split (stats, v)
    printf "%-58s %20s\n", what, stats == "" ? missing : sprintf ("%d [%d-%d]", v [1], v [2], v [3])
}
function row_s (what, stats, missing,    v) {
    split (stats, v)
    printf "%-58s %20s\n", what, stats == "" ? missing : sprintf ("%.2f [%.2f-%.2f]", v [1], v [2], v [3])
}
function per_round (what, a, b,    x, y, n, i, line) {
    n = split (a, x); split (b, y); line = ""
    for (i = 1; i <= n; i++)
        if (x [i] > 0 && y [i] > 0)
            line = line sprintf ("%s%.2f", line == "" ? " " : ", ", x [i] / y [i])
    if (line != "")
        print what line
}
function verdict (what, known, ok) {
    printf "%-48s %s\n", what, !known ? "n/a" : ok ? "PASS" : "MISS"
}'
exit 0
