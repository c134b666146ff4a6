#!/usr/bin/env bash
# test_worker_errors - a worker's job errors speak of what the user gave: the text target
# of a regression hints at --task classification; a bad --init model is named by its hash
# (what submit can tell of it is refused there)
. "$(dirname "$0")/lib.sh"

start_broker
start_workers 1

# iris's target holds class names: without --task classification the error says so
j=$("$CLIENT" submit --data "$MT_TEST_DATA/iris.csv" --target species --epochs 3) || fail "submit"
wait_state "$j" failed 30
err=$(job_field "$j" error)
echo "$err" | grep -q "iris.csv:2: column 'species': 'setosa' is not a number" \
    || fail "iris error says '$err'"
echo "$err" | grep -q -- "use --task classification" || fail "no hint at the task in '$err'"
ok "text target: $err"

# An --init model whose layers do not fit: named as the --init model and its hash, not by
# the worker's cache path
m=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --epochs 2) || fail "submit"
wait_state "$m" succeeded 30
"$CLIENT" fetch "$m" -o "$T/m.safetensors" >/dev/null || fail "fetch"
hash=$(sha256sum "$T/m.safetensors" | cut -c1-12)
# a task the client can see differs: refused at submit, nothing sent
rc=0; err=$("$CLIENT" submit --data "$MT_TEST_DATA/iris.csv" --target species \
    --task classification --epochs 2 --init "$T/m.safetensors" 2>&1) || rc=$?
[ "$rc" = 2 ] || fail "--init of a regression model for classification: exit $rc"
echo "$err" | grep -q "is a regression model, but this job's task is classification" \
    || fail "--init task error says '$err'"
# other hidden layers: refused at submit too
rc=0; err=$("$CLIENT" submit --data "$MT_TEST_DATA/sample_dataset.csv" --target y --hidden 8 \
    --epochs 2 --init "$T/m.safetensors" 2>&1) || rc=$?
[ "$rc" = 2 ] || fail "--init with other hidden layers: exit $rc"
echo "$err" | grep -q "has hidden layers '16', but this job's --hidden is '8'" \
    || fail "--init hidden layers error says '$err'"
# other classes: only the worker can tell (it reads every row)
c=$("$CLIENT" submit --data "$MT_TEST_DATA/iris.csv" --target species --task classification \
    --epochs 2) || fail "submit iris"
wait_state "$c" succeeded 30
"$CLIENT" fetch "$c" -o "$T/c.safetensors" >/dev/null || fail "fetch iris"
hash=$(sha256sum "$T/c.safetensors" | cut -c1-12)
sed 's/setosa/bristly/' "$MT_TEST_DATA/iris.csv" > "$T/other.csv"
i=$("$CLIENT" submit --data "$T/other.csv" --target species --task classification \
    --epochs 2 --init "$T/c.safetensors") || fail "submit with --init"
wait_state "$i" failed 30
err=$(job_field "$i" error)
echo "$err" | grep -q "the --init model $hash: inputs and classes are matched by name" \
    || fail "--init error says '$err'"
echo "$err" | grep -qF "{'bristly'} only in this job's data" || fail "--init classes: '$err'"
case "$err" in *cache-*|*"$T"*) fail "--init error names a path: '$err'" ;; esac
[ "$(job_field "$i" attempt)" = 1 ] || fail "a bad --init model was retried"
ok "bad --init model: $err"
echo PASS
