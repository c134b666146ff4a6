#!/usr/bin/env bash
# test_ipc_taken - a second mtbroker on a running broker's ipc:// endpoints is refused (exit 1,
# naming the endpoint) before it binds, so the running one keeps its socket files, with the
# same --db or another; a socket file a kill -9'd broker left behind does not block a new one
. "$(dirname "$0")/lib.sh"

CLIENTS=ipc://$T/c.sock
WORKERS=ipc://$T/w.sock
export MT_BROKER=$CLIENTS

# ipc_broker NAME CLIENTS WORKERS: run a broker in the background on these endpoints, with
# the database NAME.db; sets BROKER_PID once it answers
ipc_broker () {
    "${WRAP[@]}" "$BROKER" --clients "$2" --workers "$3" --db "$T/$1.db" \
        --data-dir "$T/$1-data" >>"$T/$1.log" 2>&1 &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    wait_for "broker $1 to answer" 10 "$CLIENT" --broker "$2" --timeout 1 list
}
# refused NAME CLIENTS WORKERS: a broker on these endpoints, with the database NAME.db,
# exits 1 naming the live endpoint TAKEN, and makes no database
refused () {
    local rc=0
    "$BROKER" --clients "$2" --workers "$3" --db "$T/$1.db" --data-dir "$T/$1-data" \
        >"$T/$1-refused.log" 2>&1 || rc=$?
    [ "$rc" -eq 1 ] || fail "broker $1 on a live ipc endpoint exited $rc: $(cat "$T/$1-refused.log")"
    grep -qF "cannot bind $TAKEN: another process listens there" "$T/$1-refused.log" \
        || fail "broker $1 on a live ipc endpoint said: $(cat "$T/$1-refused.log")"
    answers
}
# answers: the first broker still answers on its clients socket, and its workers socket
# is still its own
answers () {
    "$CLIENT" --timeout 2 list >/dev/null || fail "the first broker stopped answering"
    [ -S "$T/c.sock" ] && [ -S "$T/w.sock" ] || fail "the first broker's socket files are gone"
}

ipc_broker a "$CLIENTS" "$WORKERS"
first=$BROKER_PID
"$CLIENT" submit --data "$MT_TEST_DATA/iris.csv" --target species --epochs 1 >/dev/null \
    || fail "cannot submit to the first broker"

# The same command again: the database is locked too, but the endpoint is checked first
TAKEN=$CLIENTS refused a "$CLIENTS" "$WORKERS"
ok "the same broker again: $(cat "$T/a-refused.log")"
# Another database: nothing else would stop it
TAKEN=$CLIENTS refused b "$CLIENTS" "$WORKERS"
[ ! -e "$T/b.db" ] && [ ! -e "$T/b-data" ] || fail "the refused broker b made files"
ok "another --db on the same endpoints: exit 1, no file"
# Only the workers endpoint is live
TAKEN=$WORKERS refused c "ipc://$T/c2.sock" "$WORKERS"
start_worker w
wait_for "a worker on the first broker" 15 \
    eval '[ "$("$CLIENT" workers --json | jq length)" = 1 ]'
ok "the workers endpoint live: exit 1; a worker still reaches the first broker there"

# A path that is not a socket is not replaced
echo keep >"$T/file.sock"
rc=0
"$BROKER" --clients "ipc://$T/file.sock" --workers "ipc://$T/w3.sock" --db "$T/d.db" \
    --data-dir "$T/d-data" >"$T/d.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -qF "is not a socket" "$T/d.log" || fail "a broker on a file: $rc, $(cat "$T/d.log")"
[ "$(cat "$T/file.sock")" = keep ] || fail "the broker replaced a file that is not a socket"
ok "a path that is not a socket: $(cat "$T/d.log")"

# A kill -9 leaves both socket files behind, with nobody listening: a new broker takes them
kill_hard "$first"
[ -S "$T/c.sock" ] && [ -S "$T/w.sock" ] || fail "the killed broker left no socket file"
ipc_broker a "$CLIENTS" "$WORKERS"
[ "$("$CLIENT" list --json | jq length)" = 1 ] || fail "the new broker does not list the job"
ok "stale socket files of a killed broker: the next one binds them and answers"
echo PASS
