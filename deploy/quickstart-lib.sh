# shellcheck shell=bash
# quickstart-lib.sh - pid-file helpers shared by quickstart.sh and stop.sh (sourced, not run).
# Needs $top (the repository). Sets $qs (the quickstart folder) and $build.
# A process counts as ours only if its pid file names a live mtbroker/mtworker/mtgateway whose
# command line mentions our folder, so a reused pid is never signalled.

qs=${MT_QUICKSTART_DIR:-$top/mt-quickstart}
mkdir -p "$qs"
qs=$(cd "$qs" && pwd)
# shellcheck disable=SC2034  # used by quickstart.sh
build=$top/build

qs_pid() { cat "$qs/$1.pid" 2>/dev/null || true; }

# qs_running NAME: true if NAME's pid file names a live process of ours.
qs_running() {
    local pid cmdline
    pid=$(qs_pid "$1")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    cmdline=$({ tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null) || return 1
    case $cmdline in
        *mtbroker*"$qs/"*|*mtworker*"$qs/"*|*mtgateway*"$qs/"*) return 0 ;;
        *) return 1 ;;
    esac
}

# qs_stale NAME: true if NAME runs a binary that was replaced on disk since it started.
qs_stale() {
    local exe
    exe=$(readlink "/proc/$(qs_pid "$1")/exe" 2>/dev/null) || return 1
    [[ $exe == *" (deleted)" ]]
}

# qs_start NAME COMMAND...: start COMMAND in its own session (so a Ctrl-C in this terminal
# does not reach it), output to logs/NAME.log, pid in NAME.pid.
qs_start() {
    local name=$1
    shift
    mkdir -p "$qs/logs"
    rm -f "$qs/$name.pid"
    # shellcheck disable=SC2016  # $$, $0 and $@ are the inner shell's
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$qs/$name.pid" "$@" \
        >> "$qs/logs/$name.log" 2>&1 < /dev/null &
    local _
    for _ in $(seq 1 50); do
        [ -s "$qs/$name.pid" ] && return 0
        sleep 0.1
    done
    echo "quickstart: $name did not start; see $qs/logs/$name.log" >&2
    return 1
}

# qs_stop NAME [SECONDS]: SIGTERM, wait (default 15 s), SIGKILL if need be; remove the pid file.
qs_stop() {
    local name=$1 wait=${2:-15} pid i
    pid=$(qs_pid "$name")
    if qs_running "$name"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < wait * 10; i++)); do
            qs_running "$name" || break
            sleep 0.1
        done
        if qs_running "$name"; then
            echo "$name (pid $pid) did not stop within ${wait} s: SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.2
        fi
        echo "$name stopped (pid $pid)"
    elif [ -n "$pid" ]; then
        echo "$name was not running (stale pid file removed)"
    fi
    rm -f "$qs/$name.pid"
    qs_kill_children "$name"
}

# A worker stopped with SIGTERM kills its training process itself; one that had to be killed
# leaves it behind (it runs in its own process group). Kill those of this worker's cache only.
# (A training process is named mtworker-job and works in its job's folder, CACHE/jobs/JOB.)
qs_kill_children() {
    local cache p name folder
    case $1 in worker-*) cache=$(cd "$qs/cache-${1#worker-}" 2>/dev/null && pwd -P) || return 0 ;;
               *) return 0 ;; esac
    for p in /proc/[0-9]*; do
        name=$(cat "$p/comm" 2>/dev/null) && [ "$name" = mtworker-job ] || continue
        folder=$(readlink "$p/cwd" 2>/dev/null) || continue
        case $folder in
            "$cache/jobs/"*)
                echo "killing the orphaned training process ${p#/proc/}"
                kill -KILL "${p#/proc/}" 2>/dev/null || true ;;
        esac
    done
}
