#!/usr/bin/env bash
# test_worker_nice - mtworker --nice: a worker's training processes run at niceness 10 by
# default, at the worker's own with --nice 0, never below the worker's; bad values refused
. "$(dirname "$0")/lib.sh"

refused_usage "--nice 20" "--nice" "$WORKER" --nice 20
refused_usage "--nice x" "--nice" "$WORKER" --nice x

# nice_of PID: its niceness (field 19 of /proc/PID/stat, after the command name)
nice_of () {
    local stat
    stat=$(cat /proc/"$1"/stat) || return 1
    stat=${stat##*) }
    set -- $stat
    echo "${17}"
}
own=$(nice_of $$)

start_broker
start_worker plain
PLAIN=$WORKER_PID
start_worker zero --nice 0
ZERO=$WORKER_PID
wait_for "2 workers" 10 workers_connected 2
make_data "$T/d.csv" 4000
a=$("$CLIENT" submit --data "$T/d.csv" --target y --epochs 100000 --name a) || fail "submit a"
b=$("$CLIENT" submit --data "$T/d.csv" --target y --epochs 100000 --name b) || fail "submit b"
wait_state "$a" running 30
wait_state "$b" running 30
both_training () { [ -n "$(training_children "$PLAIN")" ] && [ -n "$(training_children "$ZERO")" ]; }
wait_for "a training process under each worker" 20 both_training
want=$(( own > 10 ? own : 10 ))
for pid in $(training_children "$PLAIN"); do
    got=$(nice_of "$pid")
    [ "$got" = "$want" ] || fail "the default worker's training $pid runs at niceness $got, not $want"
done
for pid in $(training_children "$ZERO"); do
    got=$(nice_of "$pid")
    [ "$got" = "$own" ] || fail "the --nice 0 worker's training $pid runs at niceness $got, not $own"
done
[ "$(nice_of "$PLAIN")" = "$own" ] || fail "the worker itself was reniced"
ok "training at niceness $want by default and $own with --nice 0 (the workers at $own)"
"$CLIENT" stop "$a" >/dev/null || fail "stop a"
"$CLIENT" stop "$b" >/dev/null || fail "stop b"
ok "done"
