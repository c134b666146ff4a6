#!/usr/bin/env bash
# test_kept_data - the table a worker's training process keeps from its last job: the next job
# on the same file read the same way trains the same model as a fresh read; a shared file
# rewritten since, or other reading options, are read again
. "$(dirname "$0")/lib.sh"

start_broker
mkdir -p "$T/shared"
start_worker 1 --data-root "$T/shared"
wait_for "worker 1" 10 workers_connected 1

# rows: N rows of x1,x2,y; the rows listed in $2 (space-separated) get no target
rows () {
    local i
    echo "x1,x2,y"
    for i in $(seq "$1"); do
        if [[ " $2 " == *" $i "* ]]; then
            echo "$i,$((i % 7)),"
        else
            echo "$i,$((i % 7)),$((i * 3 % 11))"
        fi
    done
}

run () {
    local j
    j=$("$CLIENT" submit --target y --epochs 2 --seed 7 "$@") || fail "submit $*"
    wait_state "$j" succeeded 30
    echo "$j"
}

# An uploaded table, twice: the second job reads the kept one and trains the same model
rows 60 "" >"$T/up.csv"
a=$(run --data "$T/up.csv")
b=$(run --data "$T/up.csv")
ha=$(job_field "$a" model_hash); hb=$(job_field "$b" model_hash)
[ "$ha" != null ] && [ "$ha" = "$hb" ] || fail "the same table trained $ha, then $hb"
ok "the same table twice: the same model ($ha)"

# A shared file rewritten between two jobs is read again
rows 60 "" >"$T/shared/t.csv"
c=$(run --data-path t.csv)
[ "$(job_field "$c" metrics.rows_skipped_missing_target)" = 0 ] || fail "job $c skipped rows"
rows 60 "3 9 27" >"$T/shared/t.csv"
d=$(run --data-path t.csv)
skipped=$(job_field "$d" metrics.rows_skipped_missing_target)
[ "$skipped" = 3 ] || fail "after the rewrite job $d skipped $skipped rows, not 3"
ok "a shared file rewritten since the last job is read again (3 rows without a target)"

# Other reading options on the same file are read again: with an error rule the same file
# fails, and with the default rule it trains again
e=$("$CLIENT" submit --data-path t.csv --target y --epochs 2 --on-missing-target error) \
    || fail "submit"
wait_state "$e" failed 30
job_field "$e" error | grep -q "target" || fail "job $e: $(job_field "$e" error)"
f=$(run --data-path t.csv --ignore x2)
[ "$(job_field "$f" metrics.rows_skipped_missing_target)" = 3 ] || fail "job $f"
g=$(run --data-path t.csv)
[ "$(job_field "$g" model_hash)" = "$(job_field "$d" model_hash)" ] \
    || fail "job $g (after other options) trained another model than job $d on the same file"
ok "other options read the file again: $(job_field "$e" error | cut -c1-80)"
echo PASS
