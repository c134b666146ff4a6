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

# Every command pointed at the workers socket is told which socket it reached and which it
# wants, whatever the broker answered there (unknown_peer to FETCH and UPLOAD, bad_command
# to the rest)
wrong="^mtclient: .*$WORKERS is the broker's workers socket, not its clients socket \\(it answered '[^']+'\\); point --broker \\(or MT_BROKER\\) at its clients socket \\(default tcp://127.0.0.1:5555, mtbroker --clients\\)$"
expect_error 1 "list on the workers socket" "$wrong" "$CLIENT" --broker "$WORKERS" list
expect_error 1 "status on the workers socket" "$wrong" "$CLIENT" --broker "$WORKERS" status 1
expect_error 1 "watch on the workers socket" "$wrong" "$CLIENT" --broker "$WORKERS" watch 1
expect_error 1 "stop on the workers socket" "$wrong" "$CLIENT" --broker "$WORKERS" stop 1
expect_error 1 "workers on the workers socket" "$wrong" "$CLIENT" --broker "$WORKERS" workers
expect_error 1 "fetch on the workers socket" "$wrong" "$CLIENT" --broker "$WORKERS" fetch 1 -o "$T/w.safetensors"
expect_error 1 "submit on the workers socket" "$wrong" "$CLIENT" --broker "$WORKERS" submit --data "$d" --target y
[ ! -e "$T/w.safetensors" ] || fail "a refused fetch left a file"
for cmd in "list" "status 1" "fetch 1 -o $T/w.safetensors" "submit --data $d --target y"; do
    rc=0
    out=$("$CLIENT" --broker "$WORKERS" --json $cmd 2>"$T/json.err") || rc=$?
    [ "$rc" = 1 ] && [ "$(echo "$out" | jq -r .error.code)" = wrong_socket ] \
        && [ "$(echo "$out" | wc -l)" = 1 ] && [ ! -s "$T/json.err" ] \
        || fail "$cmd --json on the workers socket: exit $rc, said '$out' and '$(cat "$T/json.err")'"
done
ok "every command on the workers socket says so, in text and in JSON"

# Endpoints are checked before use: exit 2 naming the flag, for every command and binary
expect_error 2 "port out of range" "^mtclient: --broker \\(or MT_BROKER\\): 'tcp://127.0.0.1:99999': port 99999 is out of range \\(1 to 65535\\)$" "$CLIENT" --broker tcp://127.0.0.1:99999 list
expect_error 2 "no port" "has no port" "$CLIENT" --broker tcp://127.0.0.1 status 1
expect_error 2 "empty host" "has an empty host" "$CLIENT" submit --data "$d" --target y --broker tcp://:5555
expect_error 2 "unknown transport" "unknown transport 'udp'" "$CLIENT" --broker udp://127.0.0.1:5555 fetch 1
expect_error 2 "MT_BROKER out of range" "MT_BROKER.*port 65536 is out of range" env MT_BROKER=tcp://127.0.0.1:65536 "$CLIENT" watch 1
expect_error 2 "worker port out of range" "^mtworker: --broker: 'tcp://127.0.0.1:99999': port 99999 is out of range" "$WORKER" --broker tcp://127.0.0.1:99999 --cache-dir "$T/never"
expect_error 2 "broker port out of range" "^mtbroker: --clients: 'tcp://127.0.0.1:0': port 0 is out of range" "$BROKER" --clients tcp://127.0.0.1:0 --db "$T/never.db"
expect_error 2 "broker empty host" "^mtbroker: --workers: 'tcp://:5556' has an empty host" "$BROKER" --workers tcp://:5556 --db "$T/never.db"
[ ! -e "$T/never.db" ] && [ ! -e "$T/never" ] || fail "a refused endpoint left a database or a cache"
ok "bad endpoints exit 2"

# --json: every error is one JSON object on stdout, with the exit code it has without
expect_json () {
    local code=$1 name=$2 what=$3
    shift 3
    local out rc=0
    out=$("$@" 2>"$T/json.err") || rc=$?
    [ "$rc" = "$code" ] || fail "$what --json: exit $rc, not $code: $out"
    [ "$(echo "$out" | wc -l)" = 1 ] || fail "$what --json: not one line: $out"
    echo "$out" | jq -e --arg c "$name" '(keys == ["error"]) and (.error | keys == ["code", "message"])
        and .error.code == $c and (.error.message | length > 0)' >/dev/null \
        || fail "$what --json said: $out"
    grep -q "^mtclient:" "$T/json.err" && fail "$what --json also said on stderr: $(cat "$T/json.err")"
    ok "$what --json (exit $rc): $out"
}
expect_json 1 not_found "status of no job" "$CLIENT" status 999 --json
expect_json 1 not_found "stop of no job" "$CLIENT" --json stop 999
expect_json 1 not_found "fetch of no job" "$CLIENT" fetch 999 -o "$T/none" --json
expect_json 2 usage "bad lr" "$CLIENT" submit --data "$d" --target y --lr -1 --json
expect_json 2 usage "missing column" "$CLIENT" --json submit --data "$d" --target z
expect_json 2 usage "unknown command" "$CLIENT" --json frobnicate
expect_json 2 usage "bad endpoint" "$CLIENT" --json --broker tcp://127.0.0.1:99999 list
expect_json 2 usage "predict bad model" "$CLIENT" predict --model "$T/bad.safetensors" --data "$d" --json
expect_json 3 no_broker "broker away" "$CLIENT" --json --timeout 1 --broker "tcp://127.0.0.1:$port" list

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
out=$("$CLIENT" watch "$j" --json) && fail "watch --json of a failed job exited 0"
[ "$(echo "$out" | wc -l)" = 2 ] && echo "$out" | head -n 1 | jq -e '.state == "failed"' >/dev/null \
    && echo "$out" | tail -n 1 | jq -e '.error.code == "job_failed"' >/dev/null \
    || fail "watch --json of a failed job printed: $out"
ok "watch --json of a failed job: the job map, then the error, one a line"
ok "bad dataset: $err"

# A model fetched from one job predicts; a file lacking its feature column is named
m=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 5) || fail "submit"
wait_state "$m" succeeded 30
"$CLIENT" fetch "$m" -o "$T/m.safetensors" >/dev/null || fail "fetch"
printf 'z\n1\n' > "$T/nox.csv"
expect_error 2 "predict without the feature column" "^mtclient: --data: no column 'x' in nox.csv; its columns are: z$" "$CLIENT" predict --model "$T/m.safetensors" --data "$T/nox.csv"
echo PASS
