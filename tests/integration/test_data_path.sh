#!/usr/bin/env bash
# test_data_path - shared-storage jobs: read inside --data-root, never outside it
. "$(dirname "$0")/lib.sh"

start_broker
mkdir -p "$T/shared/sub"
cp "$MT_TEST_DATA/sample_dataset.csv" "$T/shared/sub/sample.csv"
echo "x,y" > "$T/secret.csv"; echo "1,topsecret" >> "$T/secret.csv"
ln -s "$T/secret.csv" "$T/shared/link.csv"

# A worker without --data-root takes no data_path job
start_worker plain
wait_for "a worker" 10 workers_connected 1
j=$("$CLIENT" submit --data-path sub/sample.csv --target y --epochs 3) || fail "submit"
wait_state "$j" failed 30
job_field "$j" error | grep -q "data-root" || fail "error: $(job_field "$j" error)"
ok "no --data-root: $(job_field "$j" error)"
kill "$WORKER_PID"
wait_for "the worker to leave" 10 bash -c "[ \"\$($CLIENT workers --json | jq length)\" = 0 ]"

start_worker shared --data-root "$T/shared"
wait_for "a worker" 10 workers_connected 1
j=$("$CLIENT" submit --data-path sub/sample.csv --target y --epochs 20) || fail "submit"
wait_state "$j" succeeded 30
ok "a file inside --data-root trains"

for escape in ../secret.csv /etc/passwd link.csv sub/../../secret.csv; do
    e=$("$CLIENT" submit --data-path "$escape" --target y --epochs 3) || fail "submit $escape"
    wait_state "$e" failed 30
    err=$(job_field "$e" error)
    echo "$err" | grep -q "inside this worker's --data-root" || fail "$escape: $err"
    echo "$err" | grep -q topsecret && fail "$escape leaked the file's content"
    [ "$(job_field "$e" attempt)" = 1 ] || fail "$escape was retried"
    ok "refused $escape"
done
echo PASS
