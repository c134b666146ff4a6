#!/usr/bin/env bash
# test_fleet - 20 jobs over 3 real workers: all succeed, spread, fetch + predict, list, status
. "$(dirname "$0")/lib.sh"

start_broker
start_workers 3
ok "broker and 3 workers up"

# The dataset is uploaded with the submit: deleting the file right after must not matter
cp "$MT_TEST_DATA/sample_dataset.csv" "$T/sample.csv"
ids=()
for i in $(seq 1 20); do
    id=$("$CLIENT" submit --data "$T/sample.csv" --target y --epochs 30 --seed "$i" \
         --name "job-$i" --val-split 0.2) || fail "submit $i"
    [[ "$id" =~ ^[0-9]+$ ]] || fail "submit printed '$id', not a job id"
    ids+=("$id")
    [ "$i" -eq 1 ] && rm -f "$T/sample.csv" && cp "$MT_TEST_DATA/sample_dataset.csv" "$T/sample.csv"
done
rm -f "$T/sample.csv"
ok "20 jobs submitted"

for id in "${ids[@]}"; do
    wait_state "$id" succeeded 120
done
ok "20 jobs succeeded"

# Stored once: the same file submitted 20 times is one blob (plus models)
[ "$(sqlite3 "$T/mt.db" "select count(distinct data_hash) from jobs")" = 1 ] || fail "dataset stored more than once"

# Spread over the workers
n_workers=$(sqlite3 "$T/mt.db" "select count(distinct worker) from jobs")
[ "$n_workers" -eq 3 ] || fail "jobs ran on $n_workers workers, not 3"
ok "jobs spread over 3 workers"

# Every job's record in SQLite: state, attempt, times, metrics, history
rows=$(sqlite3 "$T/mt.db" "select count(*) from jobs where state='succeeded' and attempt=1 and started_at>=created_at and finished_at>=started_at and metrics is not null and model_hash is not null")
[ "$rows" = 20 ] || fail "only $rows of 20 jobs have full records"
[ "$(sqlite3 "$T/mt.db" "select count(distinct job) from progress")" = 20 ] || fail "progress history missing"
ok "SQLite holds state, times, metrics and history"

# status --json fields
id=${ids[0]}
"$CLIENT" status "$id" --json > "$T/status.json" || fail "status --json"
for field in id name state attempt worker created_at started_at finished_at progress metrics attempts history; do
    jq -e "has(\"$field\")" "$T/status.json" >/dev/null || fail "status --json lacks $field"
done
[ "$(jq -r .name "$T/status.json")" = "job-1" ] || fail "name"
[ "$(jq -r .progress.epoch "$T/status.json")" = 30 ] || fail "progress.epoch"
[ "$(jq -r '.attempts[0].outcome' "$T/status.json")" = succeeded ] || fail "attempts outcome"
jq -e '.metrics.val_metric > 0.9' "$T/status.json" >/dev/null || fail "val R2 is low: $(jq .metrics "$T/status.json")"
"$CLIENT" status "$id" > "$T/status.txt" || fail "status"
grep -q "succeeded" "$T/status.txt" || fail "human status lacks the state"
grep -q "loss" "$T/status.txt" || fail "human status lacks the loss curve"
ok "status shows state, metrics, attempts and the loss curve"

# list: newest first, filters, limit
"$CLIENT" list --json --limit 5 > "$T/list.json" || fail "list"
[ "$(jq length "$T/list.json")" = 5 ] || fail "list --limit"
[ "$(jq -r '.[0].id' "$T/list.json")" = "${ids[19]}" ] || fail "list is not newest first"
[ "$(jq length <("$CLIENT" list --json --state succeeded --limit 100))" = 20 ] || fail "list --state"
[ "$(jq length <("$CLIENT" list --json --state queued))" = 0 ] || fail "list --state queued"
"$CLIENT" list | grep -q "job-20" || fail "human list"
ok "list"

# workers
"$CLIENT" workers --json > "$T/workers.json" || fail "workers"
[ "$(jq length "$T/workers.json")" = 3 ] || fail "workers count"
[ "$(jq -r '[.[].state] | unique | .[0]' "$T/workers.json")" = idle ] || fail "workers idle"
ok "workers"

# fetch the model and use it with predict, offline
"$CLIENT" fetch "$id" -o "$T/model.safetensors" >/dev/null || fail "fetch"
[ -s "$T/model.safetensors" ] || fail "fetched model is empty"
"$CLIENT" predict --model "$T/model.safetensors" --data "$MT_TEST_DATA/sample_dataset.csv" \
    --out "$T/pred.csv" || fail "predict"
[ "$(head -1 "$T/pred.csv")" = prediction ] || fail "predict header: $(head -1 "$T/pred.csv")"
[ "$(wc -l < "$T/pred.csv")" = 31 ] || fail "predict rows"
# y = 2x + 0.05: the last row is x = 3.0, y = 6.05
last=$(tail -1 "$T/pred.csv")
awk -v p="$last" 'BEGIN { exit !(p > 5.5 && p < 6.6) }' || fail "prediction for x=3.0 is $last, not near 6.05"
ok "fetch + predict: x=3.0 -> $last"
echo "PASS"
