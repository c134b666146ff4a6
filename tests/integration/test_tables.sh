#!/usr/bin/env bash
# test_tables - a table with text, missing values and a missing target through the fleet: status shows the
# skipped row and the id column left out, --on-missing-target error names the line, predict on raw rows
# counts unseen and imputed values, --init by name, and what submit can tell is refused (exit 2)
. "$(dirname "$0")/lib.sh"

P="$MT_TEST_DATA/passengers.csv"
start_broker
start_workers 1

# Strings, missing values, a row without a target: the job succeeds (its model passes the
# broker's check) and status says what was left out
j=$("$CLIENT" submit --data "$P" --target survived --task classification --categorical pclass \
    --hidden 8 --epochs 5 --val-split 0) || fail "submit passengers.csv"
wait_trained "$j" succeeded 60
"$CLIENT" status "$j" --json > "$T/status.json"
[ "$(jq '.metrics.rows_skipped_missing_target' "$T/status.json")" = 1 ] \
    || fail "rows_skipped_missing_target: $(jq -c .metrics "$T/status.json")"
jq -e '.metrics.warnings | map(select(contains("name"))) | length == 1' "$T/status.json" >/dev/null \
    || fail "no warning names the id-like column 'name': $(jq -c .metrics "$T/status.json")"
"$CLIENT" status "$j" > "$T/status.txt"
cat "$T/status.txt"
grep -q "rows_skipped_missing_target 1" "$T/status.txt" || fail "status does not show the skipped row"
grep -q "^  warning   .*'name'" "$T/status.txt" || fail "status does not show the warning on 'name'"
ok "strings and missing values: 1 row skipped, $(grep '^  warning' "$T/status.txt")"

# Predict on raw rows: an unseen category (embarked X), missing values imputed
"$CLIENT" fetch "$j" -o "$T/model.safetensors" >/dev/null || fail "fetch"
printf 'name,pclass,sex,age,embarked,fare,id\nZed,3,male,,X,7.5,99\nYan,2,female,30,NA,?,98\n' \
    > "$T/raw.csv"
"$CLIENT" predict --model "$T/model.safetensors" --data "$T/raw.csv" --out "$T/pred.csv" \
    2>"$T/predict.err" || fail "predict on raw rows: $(cat "$T/predict.err")"
grep -q "1 unseen category mapped to (other), 2 missing values imputed" "$T/predict.err" \
    || fail "predict's counts: $(cat "$T/predict.err")"
[ "$(wc -l < "$T/pred.csv")" = 3 ] || fail "predict wrote $(wc -l < "$T/pred.csv") lines"
"$CLIENT" predict --model "$T/model.safetensors" --data "$T/raw.csv" --json > "$T/pred.json" \
    2>/dev/null || fail "predict --json"
jq -e '.unseen_categories == 1 and .imputed_values == 2' "$T/pred.json" >/dev/null \
    || fail "predict --json counts: $(cat "$T/pred.json")"
ok "predict on raw rows: $(cat "$T/predict.err")"

# --on-missing-target error: the job fails, naming the line (line 10: Ivy)
e=$("$CLIENT" submit --data "$P" --target survived --task classification --epochs 2 \
    --on-missing-target error) || fail "submit --on-missing-target error"
wait_state "$e" failed 60
err=$(job_field "$e" error)
case "$err" in *passengers.csv:10:*survived*) ;; *) fail "missing target error says '$err'" ;; esac
ok "--on-missing-target error: $err"

# --init by name: the same columns in another order (and rows in another order, so the
# categories come in another order) warm-start; a column the init model reads that this
# job lacks, a column it lacks, other hidden layers and another kind are refused at submit
{ head -1 "$P" | awk -F, -v OFS=, '{ print $8, $7, $6, $5, $4, $3, $2, $1 }'
  tail -n +2 "$P" | tac | awk -F, -v OFS=, '{ print $8, $7, $6, $5, $4, $3, $2, $1 }'; } > "$T/moved.csv"
w=$("$CLIENT" submit --data "$T/moved.csv" --target survived --task classification \
    --categorical pclass --hidden 8 --epochs 2 --val-split 0 --init "$T/model.safetensors") \
    || fail "submit --init with columns moved"
wait_trained "$w" succeeded 60
ok "--init with the columns and rows in another order: job $w succeeded"
cut -d, -f1-5,7,8 "$P" > "$T/noembarked.csv"
refused_usage "--init reading a column the data lacks" \
    "--init: $T/model.safetensors reads 1 input column this job does not give it: embarked" \
    "$CLIENT" submit --data "$T/noembarked.csv" --target survived --task classification \
    --categorical pclass --hidden 8 --init "$T/model.safetensors"
refused_usage "--init of another task" "is a classification model, but this job's task is regression" \
    "$CLIENT" submit --data "$P" --target fare --task regression --init "$T/model.safetensors"
paste -d, "$P" <(echo deck; for i in $(seq 12); do echo $(( i % 3 )); done) > "$T/deck.csv"
refused_usage "--init with a column the init model lacks" \
    "{'deck'} only in this job's data; (columns)" \
    "$CLIENT" submit --data "$T/deck.csv" --target survived --task classification \
    --categorical pclass --hidden 8 --epochs 2 --init "$T/model.safetensors"
refused_usage "--init with other hidden layers" "has hidden layers '8', but this job's --hidden is '16'" \
    "$CLIENT" submit --data "$P" --target survived --task classification --categorical pclass \
    --init "$T/model.safetensors"
refused_usage "--init with a column of another kind" \
    "'fare' is categorical here but numeric in the init model" \
    "$CLIENT" submit --data "$P" --target survived --task classification --categorical pclass,fare \
    --hidden 8 --init "$T/model.safetensors"
refused_usage "--ignore of every input" "--ignore: it leaves no feature column in passengers.csv" \
    "$CLIENT" submit --data "$P" --target survived --ignore name,pclass,sex,age,embarked,fare,id
cut -d, -f1-5 "$P" > "$T/val.csv"
refused_usage "--val-data lacking an input" "--val-data: no column" \
    "$CLIENT" submit --data "$P" --target survived --task classification --val-data "$T/val.csv"

# A bare state dict whose hidden layers are not the job's: refused at submit
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    /usr/bin/python3 "$MT_SOURCE_DIR/tests/torch/save_state_dict.py" "$T/bare.safetensors" 9,16,2
    refused_usage "--init of a bare state dict with other hidden layers" \
        "--init: $T/bare.safetensors is a bare state dict whose hidden layers are '16', but this job's --hidden is '8'" \
        "$CLIENT" submit --data "$P" --target survived --task classification --hidden 8 \
        --init "$T/bare.safetensors"
fi

# --ignore beside --features, and a listed column that is not in the header
refused_usage "--ignore with --features" "ignore (--ignore) cannot be given with features (--features)" \
    "$CLIENT" submit --data "$P" --target survived --features age,sex --ignore name
for flag in --categorical --numeric --ignore; do
    refused_usage "$flag of a column not in the header" "$flag: no column 'deck' in passengers.csv" \
        "$CLIENT" submit --data "$P" --target survived --task classification $flag deck
done
[ "$("$CLIENT" list --json | jq length)" = 3 ] || fail "a refused job was submitted"
