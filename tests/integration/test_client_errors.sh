#!/usr/bin/env bash
# test_client_errors - every client error path exits non-zero with a message that says what to fix
. "$(dirname "$0")/lib.sh"

# expect_error WHAT PATTERN CMD...: CMD must fail and its stderr must match PATTERN
expect_error () {
    local what=$1 pattern=$2
    shift 2
    local out rc=0
    out=$("$@" 2>&1 >/dev/null) || rc=$?
    [ "$rc" -ne 0 ] || fail "$what: exited 0"
    echo "$out" | grep -qE -- "$pattern" || fail "$what: said '$out', expected /$pattern/"
    # usage errors (exit 2) may add the usage text; other errors are one line
    [ "$rc" -eq 2 ] || [ "$(echo "$out" | wc -l)" -eq 1 ] || fail "$what: more than one line: $out"
    ok "$what (exit $rc): $out"
}

# Nothing listens: a clear line, no hang
port=$(free_port)
start=$(date +%s)
expect_error "broker away" "no answer from the broker" "$CLIENT" --broker "tcp://127.0.0.1:$port" --timeout 1 list
[ $(( $(date +%s) - start )) -le 30 ] || fail "the client hung with no broker"

start_broker
expect_error "unknown command" "unknown command|usage" "$CLIENT" frobnicate
expect_error "missing target" "--target" "$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv"
expect_error "bad lr" "--lr" "$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --lr -1
expect_error "lr not a number" "--lr" "$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --lr abc
expect_error "bad batch" "--batch-size" "$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --batch-size 0
expect_error "bad hidden" "--hidden" "$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --hidden 64,x
expect_error "bad task" "--task" "$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --task clustering
expect_error "missing data file" "nonexistent.csv" "$CLIENT" submit --data "$T/nonexistent.csv" --target y
expect_error "no such job" "no job 999" "$CLIENT" status 999
expect_error "job id not a number" "JOB|job" "$CLIENT" status abc
expect_error "stop no such job" "no job 999" "$CLIENT" stop 999
expect_error "fetch no such job" "no job 999" "$CLIENT" fetch 999
expect_error "bad list state" "state" "$CLIENT" list --state sideways
expect_error "predict missing model" "nope.safetensors" "$CLIENT" predict --model "$T/nope.safetensors" --data "$MT_TEST_DATA/sample_dataset.csv"
printf 'not a model' > "$T/bad.safetensors"
expect_error "predict bad model" "bad.safetensors" "$CLIENT" predict --model "$T/bad.safetensors" --data "$MT_TEST_DATA/sample_dataset.csv"

# A bad dataset fails its job at once (no retry), with the file's line and column
start_workers 1
printf 'x,y\n1,2\n2,abc\n3,6\n' > "$T/bad.csv"
j=$("$CLIENT" submit --data "$T/bad.csv" --target y --epochs 3) || fail "submit of a bad dataset"
wait_state "$j" failed 30
err=$(job_field "$j" error)
echo "$err" | grep -q "bad.csv:3: column 'y': 'abc' is not a number" || fail "dataset error says '$err'"
[ "$(job_field "$j" attempt)" = 1 ] || fail "a bad dataset was retried"
expect_error "fetch of a failed job" "no model" "$CLIENT" fetch "$j"
expect_error "watch of a failed job" "failed" "$CLIENT" watch "$j"
ok "bad dataset: $err"

# A model fetched from one job predicts; a file lacking its feature column is named
m=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 5) || fail "submit"
wait_state "$m" succeeded 30
"$CLIENT" fetch "$m" -o "$T/m.safetensors" >/dev/null || fail "fetch"
printf 'z\n1\n' > "$T/nox.csv"
expect_error "predict without the feature column" "'x'" "$CLIENT" predict --model "$T/m.safetensors" --data "$T/nox.csv"
echo PASS
