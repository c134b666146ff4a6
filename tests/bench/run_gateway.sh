#!/usr/bin/env bash
# run_gateway - the gateway's benchmark: GET /api/v1/jobs/{id} through mtgateway against nginx
# serving a file of the same size (wrk, same settings for both), then the event stream's delay
# from the broker to 200 subscribers while 10 jobs report progress. Informational: prints
# PASS/MISS per aim and exits 0 unless something could not run at all.
# Prints the machine line (machine.sh) first.
# usage: tests/bench/run_gateway.sh BUILD_DIR   (bash)
#   env: CONNECTIONS=64 THREADS=2 DURATION=10 (wrk, both rows), SUBSCRIBERS=200 JOBS=10
#        SSE_SECONDS=20 PROGRESS_MS=100 (each job's least interval between progress reports)
#        BENCH_DIR (parent of the temp folder; default $TMPDIR or /tmp)
set -eu
BUILD=${1:?usage: run_gateway.sh BUILD_DIR}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10}
SUBSCRIBERS=${SUBSCRIBERS:-200}
JOBS=${JOBS:-10}
SSE_SECONDS=${SSE_SECONDS:-20}
PROGRESS_MS=${PROGRESS_MS:-100}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
TMP=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/mt-bench-gw.XXXXXX")
PIDS=""

cleanup () {
    for pid in $PIDS; do
        kill "$pid" 2>/dev/null || true
    done
    # A worker whose broker is gone may wait to hand its job back: after 5 s, end it
    # (and its training child) hard, so nothing of this run keeps a core busy
    i=0
    while [ "$i" -lt 50 ]; do
        alive=""
        for pid in $PIDS; do
            kill -0 "$pid" 2>/dev/null && alive="$alive $pid"
        done
        [ -n "$alive" ] || break
        sleep 0.1
        i=$((i + 1))
    done
    for pid in $alive; do
        for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do    # its training child
            kill -KILL "$child" 2>/dev/null || true
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    for pid in $PIDS; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

die () { echo "run_gateway: $*" >&2; exit 1; }
for tool in wrk nginx curl jq cc; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install $tool)"
done

# A TCP port on 127.0.0.1 that nothing listens on now, below the ephemeral range
free_port () {
    while :; do
        port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000 ))
        (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null || { echo "$port"; return; }
    done
}
wait_for () {       # WHAT CMD...: retry CMD for 10 s
    what=$1
    shift
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -lt 100 ] || die "timed out waiting for $what"
        sleep 0.1
    done
}

sh "$SRC/tests/bench/machine.sh"
cmake --build "$BUILD" --target mtbroker mtworker mtclient mtgateway >"$TMP/build.log" 2>&1 \
    || die "build failed: see $TMP/build.log"
cc -O2 -D_GNU_SOURCE "$SRC/tests/bench/bench_sse.c" -o "$TMP/bench_sse" \
    || die "bench_sse did not compile"

CP=$(free_port)
WP=$(free_port)
export MT_BROKER=tcp://127.0.0.1:$CP
"$BUILD/mtbroker" --clients "$MT_BROKER" --workers "tcp://127.0.0.1:$WP" --db "$TMP/mt.db" \
    --data-dir "$TMP/data" -q >"$TMP/broker.log" 2>&1 &
PIDS="$PIDS $!"
wait_for "the broker" "$BUILD/mtclient" --timeout 1 list
GP=$(free_port)
"$BUILD/mtgateway" --broker "$MT_BROKER" --listen "127.0.0.1:$GP" >"$TMP/gateway.log" 2>&1 &
PIDS="$PIDS $!"
wait_for "the gateway" curl -sf "http://127.0.0.1:$GP/health"
SSE_WORKERS=""
start_worker () {   # NAME
    OPENBLAS_NUM_THREADS=1 "$BUILD/mtworker" --broker "tcp://127.0.0.1:$WP" -q \
        --cache-dir "$TMP/cache-$1" --progress-ms "$PROGRESS_MS" >"$TMP/worker-$1.log" 2>&1 &
    PIDS="$PIDS $!"
    SSE_WORKERS="$SSE_WORKERS $!"
}

# --- 1. GET /api/v1/jobs/{id}: a finished job, through the gateway and as nginx's file -------
start_worker 0
JOB=$("$BUILD/mtclient" submit --data "$SRC/test_data/sample_dataset.csv" --target y \
      --epochs 20 --name bench)
"$BUILD/mtclient" watch "$JOB" >/dev/null 2>&1 || true
[ "$("$BUILD/mtclient" status "$JOB" --json | jq -r .state)" = succeeded ] \
    || die "job $JOB did not succeed"
URL=http://127.0.0.1:$GP/api/v1/jobs/$JOB
mkdir -p "$TMP/www" "$TMP/nginx"
curl -sf "$URL" >"$TMP/www/job.json" || die "GET $URL failed"
SIZE=$(wc -c <"$TMP/www/job.json")
# nginx's workers may run as another user (started by root, they become nobody)
chmod 755 "$TMP" "$TMP/www"
chmod 644 "$TMP/www/job.json"
NP=$(free_port)
cat >"$TMP/nginx/nginx.conf" <<NGINX
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
daemon off;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$NP;
        root $TMP/www;
        location / { default_type application/json; }
    }
}
NGINX
nginx -e "$TMP/nginx/error.log" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" \
    >"$TMP/nginx/out.log" 2>&1 &
PIDS="$PIDS $!"
wait_for "nginx" curl -sf "http://127.0.0.1:$NP/job.json"

rate () {           # URL: wrk's requests/s; fails when wrk saw errors
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$1" >"$TMP/wrk.txt" 2>&1 \
        || die "wrk failed: $(cat "$TMP/wrk.txt")"
    if grep -q "Non-2xx\|Socket errors" "$TMP/wrk.txt"; then
        echo "wrk saw errors for $1:" >&2
        grep "Non-2xx\|Socket errors" "$TMP/wrk.txt" >&2
    fi
    awk '/^Requests\/sec:/ { print $2 }' "$TMP/wrk.txt"
}
echo "GET /api/v1/jobs/$JOB: $SIZE bytes; wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s for both"
GW=$(rate "$URL")
GW_P99=$(awk '/^ +99%/ { print $2 }' "$TMP/wrk.txt")
NG=$(rate "http://127.0.0.1:$NP/job.json")
NG_P99=$(awk '/^ +99%/ { print $2 }' "$TMP/wrk.txt")
awk -v gw="$GW" -v ng="$NG" -v gp="$GW_P99" -v np="$NG_P99" 'BEGIN {
    ratio = ng > 0 ? gw / ng : 0
    printf "  mtgateway: %9.0f req/s (p99 %s)\n  nginx:     %9.0f req/s (p99 %s)\n", gw, gp, ng, np
    printf "  ratio:     %9.1f%% of nginx\n", 100 * ratio
    printf "  aim >= 10000 req/s: %s; aim >= 25%% of nginx: %s\n",
           (gw >= 10000 ? "PASS" : "MISS"), (ratio >= 0.25 ? "PASS" : "MISS")
}'

# --- 2. The event stream: SUBSCRIBERS subscribers while JOBS jobs report progress -------------
awk 'BEGIN { srand(7); print "a,b,c,d,y"
    for (i = 0; i < 20000; i++) { a = rand(); b = rand(); c = rand(); d = rand()
        printf "%.4f,%.4f,%.4f,%.4f,%.4f\n", a, b, c, d, a + 2*b - c + 0.5*d } }' >"$TMP/big.csv"
i=1
while [ "$i" -lt "$JOBS" ]; do
    start_worker "$i"
    i=$((i + 1))
done
LONG=""
i=0
while [ "$i" -lt "$JOBS" ]; do
    LONG="$LONG $("$BUILD/mtclient" submit --data "$TMP/big.csv" --target y --epochs 100000 \
                  --name "sse-$i")"
    i=$((i + 1))
done
running () {
    [ "$("$BUILD/mtclient" list --state running --json | jq length)" -ge "$JOBS" ]
}
i=0
until running; do
    i=$((i + 1))
    [ "$i" -lt 300 ] || die "the $JOBS jobs did not all start"
    sleep 0.1
done
echo "event stream: $JOBS jobs running, each reporting at most every ${PROGRESS_MS} ms;" \
     "${SSE_SECONDS} s a row"
# commit_stats: the broker's commit histogram's sum and count, from /metrics
commit_stats () {
    curl -sf "http://127.0.0.1:$GP/metrics" \
        | awk '/^mt_broker_commit_seconds_sum/ { s = $2 } /^mt_broker_commit_seconds_count/ { c = $2 }
               END { print s + 0, c + 0 }'
}
# sse_row LABEL SUBS: one bench_sse run, with what the broker received and committed meanwhile
sse_row () {
    label=$1
    subs=$2
    from_ms=$(($(date +%s%N) / 1000000))
    c0=$(commit_stats)
    "$TMP/bench_sse" 127.0.0.1 "$GP" "$subs" "$SSE_SECONDS" >"$TMP/sse.txt" \
        || die "bench_sse failed: $(cat "$TMP/sse.txt")"
    c1=$(commit_stats)
    to_ms=$(($(date +%s%N) / 1000000))
    # PROGRESS reports the broker stored (each is a history row) in the window
    reports=$(/usr/bin/python3 -c 'import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(db.execute("SELECT count(*) FROM progress WHERE at >= ? AND at < ?",
                 (int(sys.argv[2]), int(sys.argv[3]))).fetchone()[0])' "$TMP/mt.db" "$from_ms" "$to_ms" \
        2>/dev/null || echo "?")
    nices=$(for w in $SSE_WORKERS; do pgrep -P "$w" || true; done | xargs -r ps -o ni= -p | sort -u | xargs)
    echo "  $label: $subs subscribers, training at nice ${nices:-?}"
    awk -v subs="$subs" -v secs="$SSE_SECONDS" -v jobs="$JOBS" -v reports="$reports" \
        -v c0="$c0" -v c1="$c1" '
        BEGIN { split(c0, a, " "); split(c1, b, " ")
                n = b[2] - a[2]
                if (reports != "?")
                    printf "    broker: %.1f PROGRESS a job a second received and stored", \
                           reports / jobs / secs
                if (n > 0)
                    printf "; %d commits, mean %.2f ms (an event goes after its commit)", \
                           n, 1000 * (b[1] - a[1]) / n
                printf "\n" }
        /^delays/ { printf "    stream: %.1f events a subscriber a second; delay from PROGRESS at " \
                    "the broker to a subscriber: %d events, p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, " \
                    "max %.1f ms\n", $2 / subs / secs, $2, $3, $4, $5, $6
                    printf "    aim p99 < 100 ms: %s\n", ($5 < 100 ? "PASS" : "MISS") }
        /^gaps/ { printf "    seq gaps seen %d, resync events %d\n", $2, $4 }' "$TMP/sse.txt"
}
# The training children, as mtworker starts them (its --nice default), then reniced to 0
# (as --nice 0 starts them); one subscriber apart shows what the fan-out to many costs
sse_row "workers as shipped (--nice default)" "$SUBSCRIBERS"
sse_row "workers as shipped, one subscriber" 1
if for w in $SSE_WORKERS; do pgrep -P "$w" || true; done | xargs -r renice -n 0 -p >/dev/null 2>&1; then
    sse_row "training reniced to 0 (as --nice 0)" "$SUBSCRIBERS"
else
    echo "  training at nice 0: not measured (renice to 0 refused: not root)"
fi
for job in $LONG; do
    "$BUILD/mtclient" stop "$job" >/dev/null 2>&1 || true
done
