# lib.sh - shared set-up for integration tests: temp folders, free ports, real processes
# Sourced by tests/integration/test_*.sh. Every process started here is killed on exit,
# and only those: signals go to pids this test started (PIDS) or to their children whose
# command line names this test's temp folder, never to a name or a pattern.

set -u
MT_BIN_DIR=${MT_BIN_DIR:?MT_BIN_DIR must name the build folder}
MT_TEST_DATA=${MT_TEST_DATA:?MT_TEST_DATA must name test_data}
BROKER=$MT_BIN_DIR/mtbroker
WORKER=$MT_BIN_DIR/mtworker
CLIENT=$MT_BIN_DIR/mtclient

T=$(mktemp -d "${TMPDIR:-/tmp}/mt-test.XXXXXX")
# MT_WRAP runs the broker and workers under a tool, e.g.
# MT_WRAP="valgrind --leak-check=full --error-exitcode=99 --log-file=/tmp/vg-%p.log"
read -r -a WRAP <<< "${MT_WRAP:-}"
PIDS=()
TRAINING=()         # pids a killed worker's training processes may still have: see kill_hard
FAILED=0

cleanup () {
    # TERM first, so the processes exit cleanly (and tools like valgrind can
    # report), then KILL what is left; then the training processes left behind
    local pid deadline=$(( $(date +%s) + ${MT_STOP_WAIT:-3} ))
    for pid in "${PIDS[@]}"; do
        our_child "$pid" || continue    # ended already: its pid may be another's now
        kill -TERM "$pid" 2>/dev/null
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        while our_child "$pid" && [ "$(date +%s)" -lt "$deadline" ]; do
            sleep 0.1
        done
        kill_hard "$pid"
    done
    for pid in "${TRAINING[@]}"; do
        kill_ours -9 "$pid" 2>/dev/null
    done
    wait 2>/dev/null
    if [ "$FAILED" -ne 0 ] || [ -n "${MT_KEEP:-}" ]; then
        echo "--- logs kept in $T"
        for log in "$T"/*.log; do
            [ -f "$log" ] && { echo "--- $log (last 30 lines)"; tail -n 30 "$log"; }
        done
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT

fail () {
    echo "FAIL: $*" >&2
    FAILED=1
    exit 1
}

ok () {
    echo "ok: $*"
}

# need COMMAND PACKAGE: fail, saying what to install, when COMMAND is missing (a check
# that needs it must not pass unrun)
need () {
    command -v "$1" >/dev/null 2>&1 \
        || fail "the $1 command is missing (install $2): a check here needs it"
}
need jq jq

# refused_usage WHAT PATTERN CMD...: CMD exits 2 (refused before any work) and says PATTERN
# on stderr
refused_usage () {
    local what=$1 pattern=$2
    shift 2
    local out rc=0
    out=$("$@" 2>&1 >/dev/null) || rc=$?
    [ "$rc" -eq 2 ] || fail "$what: exited $rc, not 2: $out"
    echo "$out" | grep -qF -- "$pattern" || fail "$what: said '$out', expected '$pattern'"
    ok "$what: $out"
}

# --- Our processes, by pid ---------------------------------------------------------------

# our_child PID: PID is a process this test's shell started that has not been waited for
# (its parent is this shell): a pid in PIDS whose process ended may be reused by another
our_child () {
    local stat ppid
    stat=$(cat /proc/"$1"/stat 2>/dev/null) || return 1
    stat=${stat##*) }                   # after the command name, which may hold anything
    read -r _ ppid _ <<<"$stat"
    [ "$ppid" = "$$" ]
}

# cmdline PID: PID's command line, its arguments joined by spaces; fails once PID has
# ended (a zombie has none)
cmdline () {
    local line
    line=$(tr '\0' ' ' 2>/dev/null </proc/"$1"/cmdline) && [ -n "$line" ] && echo "$line"
}

# ours PID: PID's command line names our temp folder, as our brokers', workers' and their
# training processes' do; a pid that ended and was reused by another process does not
ours () {
    [[ "$(cmdline "$1")" == *" $T/"* ]]
}

# kill_ours SIGNAL PID: send SIGNAL to PID if it is still ours; fails otherwise
kill_ours () {
    ours "$2" || { echo "not signalling pid $2: it is not ours (any more)" >&2; return 1; }
    kill "$1" "$2"
}

# children_of PID: the processes PID started that are still its children, one a line
# (/proc lists each thread's)
children_of () {
    local pid
    for pid in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        echo "$pid"
    done
}

# job_folder PID: the folder PID works in; a training process (forked by its worker, whose
# command line it keeps) works in its attempt's folder, CACHE/jobs/JOB-ATTEMPT
job_folder () {
    readlink /proc/"$1"/cwd 2>/dev/null
}

# training_children WORKER_PID: the worker's training processes (ours, working in a job's
# folder in our temp folder), one pid a line
training_children () {
    local pid
    for pid in $(children_of "$1"); do
        ours "$pid" && [[ "$(job_folder "$pid")" == "$T/"*"/jobs/"* ]] && echo "$pid"
    done
    return 0
}

# training_pid JOB ATTEMPT: the pid of that attempt's training process, a child of one of
# our workers (it works in the attempt's folder in the worker's cache); fails when none runs
training_pid () {
    local worker pid
    for worker in "${PIDS[@]}"; do
        for pid in $(training_children "$worker"); do
            [[ "$(job_folder "$pid")" == "$T/cache-"*"/jobs/$1-$2" ]] \
                && { echo "$pid"; return 0; }
        done
    done
    return 1
}

# job_worker_pid JOB: the pid of the worker of ours that runs JOB (its name is host:pid);
# fails, saying so, when the broker names none of ours
job_worker_pid () {
    local name pid
    name=$(job_field "$1" worker)
    for pid in "${PIDS[@]}"; do
        [ "${name##*:}" = "$pid" ] && { echo "$pid"; return 0; }
    done
    echo "job $1 runs on '$name', none of the workers this test started" >&2
    return 1
}

# kill_hard PID...: SIGKILL these processes this shell started. A worker's training
# processes outlive it (until their next write to it), so they are noted first, to be killed
# on exit; the worker is stopped meanwhile, so it starts none after the note.
kill_hard () {
    local pid child
    for pid in "$@"; do
        our_child "$pid" && kill -STOP "$pid" 2>/dev/null || continue
        for child in $(children_of "$pid"); do
            TRAINING+=("$child")
        done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null         # and bash says nothing of it
    done
    return 0
}

# A TCP port on 127.0.0.1 that nothing listens on now, below the kernel's
# ephemeral range (32768 and up), so no outgoing connection holds it either.
free_port () {
    local port
    for _ in $(seq 1 200); do
        port=$(( 20000 + RANDOM % 12000 ))
        if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    fail "no free port found"
}

# start_broker [extra flags...]: sets CLIENTS, WORKERS, BROKER_PID. A first
# start that loses its ports to another process tries other ones.
start_broker () {
    local try
    for try in 1 2 3; do
        CLIENT_PORT=${CLIENT_PORT:-$(free_port)}
        WORKER_PORT=${WORKER_PORT:-$(free_port)}
        CLIENTS=tcp://127.0.0.1:$CLIENT_PORT
        WORKERS=tcp://127.0.0.1:$WORKER_PORT
        export MT_BROKER=$CLIENTS
        "${WRAP[@]}" "$BROKER" --clients "$CLIENTS" --workers "$WORKERS" --db "$T/mt.db" \
            --data-dir "$T/data" "$@" >>"$T/broker.log" 2>&1 &
        BROKER_PID=$!
        PIDS+=("$BROKER_PID")
        sleep 0.2
        if kill -0 "$BROKER_PID" 2>/dev/null; then
            wait_for "broker to answer" 10 "$CLIENT" --timeout 1 list
            BROKER_STARTED=1
            return 0
        fi
        grep -q "Address already in use" "$T/broker.log" || fail "the broker did not start"
        [ -z "${BROKER_STARTED:-}" ] || fail "the broker lost its ports on restart"
        unset CLIENT_PORT WORKER_PORT
    done
    fail "the broker found no free ports"
}

# start_worker NAME [extra flags...]: sets WORKER_PID
start_worker () {
    local name=$1
    shift
    "${WRAP[@]}" "$WORKER" --broker "$WORKERS" --cache-dir "$T/cache-$name" --progress-ms 100 \
        --checkpoint-min-ms "${MT_CHECKPOINT_MIN_MS:-0}" "$@" \
        >>"$T/worker-$name.log" 2>&1 &
    WORKER_PID=$!
    PIDS+=("$WORKER_PID")
}

# stop_worker: SIGTERM to the worker started last ($WORKER_PID), and wait until it has exited
stop_worker () {
    kill -TERM "$WORKER_PID"
    wait "$WORKER_PID" 2>/dev/null
}

# stop_checkpointed JOB: stop a running job and wait until it is stopped; sets STOPPED_EPOCH to
# its checkpoint_epoch, and fails when it has none
stop_checkpointed () {
    "$CLIENT" stop "$1" >/dev/null || fail "stop $1"
    wait_state "$1" stopped 30
    STOPPED_EPOCH=$(job_field "$1" checkpoint_epoch)
    [ "$STOPPED_EPOCH" != null ] && [ "$STOPPED_EPOCH" -gt 0 ] \
        || fail "stopped job $1 has no checkpoint ($STOPPED_EPOCH)"
}

# start_workers N: workers named 1..N, and wait until all N are connected
start_workers () {
    local i
    for i in $(seq "$1"); do
        start_worker "$i"
    done
    wait_for "$1 workers" 10 workers_connected "$1"
}

# wait_for WHAT SECONDS CMD...: retry CMD until it succeeds
wait_for () {
    local what=$1 seconds=$2
    shift 2
    local deadline=$(( $(date +%s) + seconds ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "timed out waiting for $what"
        sleep 0.1
    done
}

# job_field JOB FIELD: one field of `mtclient status --json`
job_field () {
    "$CLIENT" status "$1" --json | jq -r ".$2"
}

job_state_is () {
    [ "$(job_field "$1" state)" = "$2" ]
}

# wait_state JOB STATE SECONDS
wait_state () {
    wait_for "job $1 to be $2" "$3" job_state_is "$1" "$2"
}

# wait_moving STALL_S DONE VALUE: wait until the command DONE succeeds, for as long as the
# output of the command VALUE keeps changing; returns 1 once it has not changed for STALL_S
# seconds (the caller says what stalled). How long training takes depends on the build (the
# sanitizers slow it several times) and on the machine, not on the fleet's health.
wait_moving () {
    local stall=$1 done=$2 value=$3 last="" now idle=0
    while ! $done; do
        now=$($value)
        if [ "$now" != "$last" ]; then
            last=$now
            idle=0
        else
            idle=$(( idle + 1 ))
        fi
        [ "$idle" -lt "$stall" ] || return 1
        sleep 1
    done
}

# wait_trained JOB STATE STALL_S: wait for a training job to reach STATE for as long as its
# step keeps moving; fail when it has not moved for STALL_S seconds.
job_step () { job_field "$1" progress.step 2>/dev/null || echo ""; }
wait_trained () {
    wait_moving "$3" "job_state_is $1 $2" "job_step $1" \
        || fail "job $1 is not $2 and its step has not moved for $3 s"
}

workers_connected () {
    [ "$("$CLIENT" workers --json | jq length)" -ge "$1" ]
}

# make_data FILE ROWS: a regression table y = sum of 4 features, with noise
make_data () {
    awk -v rows="$2" 'BEGIN {
        srand(7); print "a,b,c,d,y"
        for (i = 0; i < rows; i++) {
            a = rand(); b = rand(); c = rand(); d = rand()
            printf "%.4f,%.4f,%.4f,%.4f,%.4f\n", a, b, c, d, a + 2*b - c + 0.5*d + 0.01*rand()
        }
    }' > "$1"
}

# wait_epoch JOB N SECONDS: until the job has reported epoch N or more
epoch_at_least () {
    local e
    e=$(job_field "$1" progress.epoch)
    [ "$e" != null ] && [ "$e" -ge "$2" ]
}
wait_epoch () {
    wait_for "job $1 to reach epoch $2" "$3" epoch_at_least "$1" "$2"
}

# make_keys NAME...: the broker's keys folder K=$T/keys (its pair, clients/ and workers/ empty)
# and a pair per NAME in O=$T/own, as if each were made on its owner's machine
make_keys () {
    local name
    K=$T/keys
    O=$T/own
    mkdir -p "$K/clients" "$K/workers"
    "$CLIENT" keygen broker --dir "$K" >/dev/null || fail "keygen broker"
    for name in "$@"; do
        "$CLIENT" keygen "$name" --dir "$O" >/dev/null || fail "keygen $name"
    done
}

# as WHO ARGS...: mtclient with WHO's key (made by make_keys)
as () {
    local who=$1
    shift
    "$CLIENT" --cert "$O/${who}_secret" "$@"
}

# field WHO JOB FIELD: one field of `mtclient status --json` as WHO reads it
field () {
    as "$1" status "$2" --json | jq -r ".$3"
}
