# fleet.sh - sourced by the sweep benchmarks: a temp folder and the processes started in it (killed on exit), ports, CPU ticks, and a fleet of one broker and N workers
TMP=$(mktemp -d)
PIDS=""
cleanup () {
    for pid in $PIDS; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
export OPENBLAS_NUM_THREADS=1
port () { echo $(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000 )); }
# ticks PID: its user + system CPU so far, in 1/100 s
ticks () { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# start_fleet BUILD DIR N [WORKER_ARG...]: a broker keeping its files in DIR and N workers of one
# thread, connected before it returns. Sets broker and workers (PIDs), CEP (the clients'
# endpoint) and c (an mtclient command for it).
start_fleet () {
    _build=$1 _dir=$2 _n=$3
    shift 3
    mkdir -p "$_dir"
    _cp=$(port); _wp=$(port)
    "$_build/mtbroker" --clients "tcp://127.0.0.1:$_cp" --workers "tcp://127.0.0.1:$_wp" -q \
        --db "$_dir/mt.db" --data-dir "$_dir/data" >"$_dir/broker.log" 2>&1 &
    broker=$!
    PIDS="$PIDS $broker"
    workers=""
    _i=0
    while [ $_i -lt "$_n" ]; do
        "$_build/mtworker" --broker "tcp://127.0.0.1:$_wp" --cache-dir "$_dir/cache$_i" --threads 1 \
            -q "$@" >"$_dir/worker$_i.log" 2>&1 &
        workers="$workers $!"
        _i=$((_i + 1))
    done
    PIDS="$PIDS $workers"
    CEP=tcp://127.0.0.1:$_cp
    c="$_build/mtclient --broker $CEP"
    _i=0
    until [ "$($c --timeout 1 workers --json 2>/dev/null | jq length 2>/dev/null || echo 0)" \
            -ge "$_n" ]; do
        _i=$((_i + 1))
        [ $_i -lt 100 ] || { echo "$(basename "$0"): the workers did not connect" >&2; exit 1; }
        sleep 0.1
    done
}
