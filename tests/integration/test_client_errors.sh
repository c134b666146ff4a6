#!/usr/bin/env bash
# test_client_errors - every client error path exits non-zero with a message that says what to fix
. "$(dirname "$0")/lib.sh"

# expect_error CODE WHAT PATTERN CMD...: CMD must exit CODE (1 error, 2 usage, 3 no broker)
# and its stderr must match PATTERN
expect_error () {
    local code=$1 what=$2 pattern=$3
    shift 3
    local out rc=0
    out=$("$@" 2>&1 >/dev/null) || rc=$?
    [ "$rc" -eq "$code" ] || fail "$what: exited $rc, not $code: $out"
    echo "$out" | grep -qE -- "$pattern" || fail "$what: said '$out', expected /$pattern/"
    # usage errors (exit 2) may add the usage text; other errors are one line
    [ "$rc" -eq 2 ] || [ "$(echo "$out" | wc -l)" -eq 1 ] || fail "$what: more than one line: $out"
    ok "$what (exit $rc): $out"
}

# Nothing listens: a clear line, no hang
port=$(free_port)
start=$(date +%s)
expect_error 3 "broker away" "no answer from the broker" "$CLIENT" --broker "tcp://127.0.0.1:$port" --timeout 1 list
[ $(( $(date +%s) - start )) -le 30 ] || fail "the client hung with no broker"

start_broker
expect_error 2 "unknown command" "unknown command|usage" "$CLIENT" frobnicate
expect_error 2 "missing target" "--target" "$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv"
expect_error 2 "bad lr" "--lr" "$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --lr -1
expect_error 2 "lr not a number" "--lr" "$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --lr abc
expect_error 2 "bad batch" "--batch-size" "$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --batch-size 0
expect_error 2 "bad hidden" "--hidden" "$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --hidden 64,x
expect_error 2 "bad task" "--task" "$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --task clustering
expect_error 2 "missing data file" "nonexistent.csv" "$CLIENT" submit --data "$T/nonexistent.csv" --target y
expect_error 1 "no such job" "no job 999" "$CLIENT" status 999
expect_error 2 "job id not a number" "JOB|job" "$CLIENT" status abc
expect_error 1 "stop no such job" "no job 999" "$CLIENT" stop 999
expect_error 1 "fetch no such job" "no job 999" "$CLIENT" fetch 999
expect_error 2 "bad list state" "state" "$CLIENT" list --state sideways
expect_error 2 "predict missing model" "nope.safetensors" "$CLIENT" predict --model "$T/nope.safetensors" --data "$MT_TEST_DATA/sample_dataset.csv"
printf 'not a model' > "$T/bad.safetensors"
expect_error 2 "predict bad model" "bad.safetensors: not a safetensors file" "$CLIENT" predict --model "$T/bad.safetensors" --data "$MT_TEST_DATA/sample_dataset.csv"
expect_error 2 "predict with a CSV for a model" "iris.csv: not a safetensors file" "$CLIENT" predict --model "$MT_TEST_DATA/iris.csv" --data "$MT_TEST_DATA/iris.csv"

# Every value refused before a request is sent is a usage error (exit 2), and nothing is sent
d=$MT_TEST_DATA/sample_dataset.csv
expect_error 2 "hidden not a list" "--hidden" "$CLIENT" submit --data "$d" --target y --hidden abc
expect_error 2 "hidden with an empty width" "--hidden" "$CLIENT" submit --data "$d" --target y --hidden 64,,64
expect_error 2 "lr zero" "--lr" "$CLIENT" submit --data "$d" --target y --lr 0
expect_error 2 "submit without --data" "--data" "$CLIENT" submit --target y
expect_error 2 "list limit zero" "--limit" "$CLIENT" list --limit 0
expect_error 2 "timeout zero" "--timeout" "$CLIENT" list --timeout 0
expect_error 2 "timeout not a number" "--timeout" "$CLIENT" --timeout abc list
expect_error 2 "target not in the file" "^mtclient: --target: no column 'z' in sample_dataset.csv; its columns are: x, y$" "$CLIENT" submit --data "$d" --target z
expect_error 2 "feature not in the file" "^mtclient: --features: no column 'nope' in sample_dataset.csv; its columns are: x, y$" "$CLIENT" submit --data "$d" --target y --features nope
expect_error 2 "target not in a JSONL file" "--target: no column 'kind' in iris.jsonl; its columns are: sepal_length, sepal_width, petal_length, petal_width, species" "$CLIENT" submit --data "$MT_TEST_DATA/iris.jsonl" --target kind
[ "$("$CLIENT" list --json | jq length)" = 0 ] || fail "a refused submit made a job"
"$CLIENT" help | grep -q "^  2  a usage error, refused before anything is sent or written" || fail "help: exit code 2"
"$CLIENT" help | grep -q "^  1  the work failed: the broker answered with an error" || fail "help: exit code 1"
ok "bad values exit 2 and submit nothing"

# A client pointed at the workers socket is told which socket it wants
expect_error 1 "client on the workers socket" "workers socket: point --broker \\(or MT_BROKER\\) at its clients socket \\(default tcp://127.0.0.1:5555, mtbroker --clients\\)" "$CLIENT" --broker "$WORKERS" list

# A bad dataset fails its job at once (no retry), with the file's line and column
start_workers 1
printf 'x,y\n1,2\n2,abc\n3,6\n' > "$T/bad.csv"
j=$("$CLIENT" submit --data "$T/bad.csv" --target y --epochs 3) || fail "submit of a bad dataset"
wait_state "$j" failed 30
err=$(job_field "$j" error)
echo "$err" | grep -q "bad.csv:3: column 'y': 'abc' is not a number" || fail "dataset error says '$err'"
[ "$(job_field "$j" attempt)" = 1 ] || fail "a bad dataset was retried"
expect_error 1 "fetch of a failed job" "job $j ended without a model \\(it is failed: .*bad.csv:3: .*\\); there is nothing to fetch" "$CLIENT" fetch "$j"
expect_error 1 "watch of a failed job" "failed" "$CLIENT" watch "$j"
ok "bad dataset: $err"

# A model fetched from one job predicts; a file lacking its feature column is named
m=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 5) || fail "submit"
wait_state "$m" succeeded 30
"$CLIENT" fetch "$m" -o "$T/m.safetensors" >/dev/null || fail "fetch"
printf 'z\n1\n' > "$T/nox.csv"
expect_error 2 "predict without the feature column" "^mtclient: --data: no column 'x' in nox.csv; its columns are: z$" "$CLIENT" predict --model "$T/m.safetensors" --data "$T/nox.csv"
echo PASS
