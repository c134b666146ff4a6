#!/usr/bin/env bash
# test_eval - the penguin table (text columns, missing values) trains through a real broker and worker, and `mtclient eval` on its fixed test split reaches 0.97 accuracy; eval's output and its named errors
. "$(dirname "$0")/lib.sh"

TRAIN=$MT_TEST_DATA/penguins_train.csv
TEST=$MT_TEST_DATA/penguins_test.csv

# refused WHAT RC PATTERN CMD...: CMD exits RC and says PATTERN on stderr
refused () {
    local what=$1 want=$2 pattern=$3
    shift 3
    local out rc=0
    out=$("$@" 2>&1 >/dev/null) || rc=$?
    [ "$rc" -eq "$want" ] || fail "$what: exited $rc, not $want: $out"
    echo "$out" | grep -qF -- "$pattern" || fail "$what: said '$out', expected '$pattern'"
    ok "$what: $out"
}

start_broker
start_workers 1

j=$("$CLIENT" submit --data "$TRAIN" --target species --task classification --hidden 64 \
    --lr 0.001 --batch-size 32 --epochs 100 --val-split 0.2 --stratify --seed 1) \
    || fail "submit the penguins"
wait_trained "$j" succeeded 60
"$CLIENT" fetch "$j" --output "$T/model.safetensors" >/dev/null || fail "fetch"
ok "job $j trained the penguins through the fleet"

"$CLIENT" eval --model "$T/model.safetensors" --data "$TEST" --json > "$T/eval.json" \
    || fail "eval --json: $(cat "$T/eval.json")"
jq -e '.task == "classification" and .target == "species" and .rows == 68
       and .rows_skipped_missing_target == 0 and .classes == ["Adelie", "Chinstrap", "Gentoo"]
       and ([.confusion[][]] | add) == 68 and (.confusion | map(add)) == [30, 13, 25]' \
    "$T/eval.json" >/dev/null || fail "eval --json: $(jq -c . "$T/eval.json")"
acc=$(jq '.metrics.accuracy' "$T/eval.json")
jq -e '.metrics.accuracy >= 0.97' "$T/eval.json" >/dev/null \
    || fail "accuracy $acc on the penguins' test split, below 0.97"
# The diagonal is the accuracy's numerator
jq -e '(.confusion | [range(0; 3) as $i | .[$i][$i]] | add) / 68 == .metrics.accuracy' \
    "$T/eval.json" >/dev/null || fail "the confusion matrix's diagonal is not the accuracy"
ok "eval: accuracy $acc on 68 test rows (the bar is 0.97)"

# The human output: counts, metrics and the labelled matrix, rows true
"$CLIENT" eval --model "$T/model.safetensors" --data "$TEST" > "$T/eval.txt" || fail "eval"
grep -q "^classification of species: 68 rows; 0 skipped (target missing)" "$T/eval.txt" \
    || fail "eval's first line: $(head -1 "$T/eval.txt")"
grep -q "^accuracy $(jq -r '.metrics.accuracy' "$T/eval.json" | cut -c1-4)" "$T/eval.txt" \
    || fail "eval's metrics line: $(sed -n 2p "$T/eval.txt")"
grep -qE '^true \\ predicted +Adelie +Chinstrap +Gentoo$' "$T/eval.txt" \
    || fail "the matrix has no header of predicted classes: $(cat "$T/eval.txt")"
[ "$(grep -E '^Gentoo ' "$T/eval.txt" | awk '{ print $2 + $3 + $4 }')" = 25 ] \
    || fail "the Gentoo row does not count 25 true Gentoos: $(cat "$T/eval.txt")"
ok "eval's table"

# Rows without a target are skipped and counted; unseen and missing features are counted
awk -F, 'BEGIN { OFS = "," } NR == 2 { $1 = "NA" } NR == 3 { $1 = "" } NR == 4 { $2 = "Atlantis" }
         NR == 5 { $3 = "?" } { print }' "$TEST" > "$T/odd.csv"
"$CLIENT" eval --model "$T/model.safetensors" --data "$T/odd.csv" --json > "$T/odd.json" \
    || fail "eval of odd rows"
jq -e '.rows == 66 and .rows_skipped_missing_target == 2 and .unseen_categories == 1
       and .imputed_values == 1 and ([.confusion[][]] | add) == 66' "$T/odd.json" >/dev/null \
    || fail "the odd rows' counts: $(jq -c '.rows, .rows_skipped_missing_target, .unseen_categories, .imputed_values' "$T/odd.json")"
ok "2 rows without a target skipped, an unseen island and a missing bill length counted"

# Named errors, with the exit codes of predict: 2 found before evaluating, 1 while
cut -d, -f2- "$TEST" > "$T/no_target.csv"
refused "a file without the target" 2 "--data: the model's target: no column 'species' in no_target.csv; its columns are: island," \
    "$CLIENT" eval --model "$T/model.safetensors" --data "$T/no_target.csv"
cut -d, -f1,3- "$TEST" > "$T/no_island.csv"
refused "a file without a feature" 2 "--data: no column 'island' in no_island.csv" \
    "$CLIENT" eval --model "$T/model.safetensors" --data "$T/no_island.csv"
sed '5s/^Adelie,/Emperor,/' "$TEST" > "$T/emperor.csv"
refused "a class the model does not know" 1 "emperor.csv:5: column 'species': unknown class 'Emperor'" \
    "$CLIENT" eval --model "$T/model.safetensors" --data "$T/emperor.csv"
refused "no model" 2 "--model: " "$CLIENT" eval --model "$T/none.safetensors" --data "$TEST"
refused "no --data" 2 "eval: give --model FILE and --data FILE" \
    "$CLIENT" eval --model "$T/model.safetensors"
head -1 "$TEST" > "$T/header.csv"
refused "a header and no rows" 1 "no data rows" \
    "$CLIENT" eval --model "$T/model.safetensors" --data "$T/header.csv"
# --json errors are one object on stdout, as the other commands print them
out=$("$CLIENT" eval --model "$T/model.safetensors" --data "$T/emperor.csv" --json 2>/dev/null) \
    && fail "eval --json of an unknown class succeeded"
echo "$out" | jq -e '.error.code == "failed" and (.error.message | test("unknown class .Emperor."))' \
    >/dev/null || fail "eval --json error: $out"
out=$("$CLIENT" eval --model "$T/model.safetensors" --data "$T/no_target.csv" --json 2>/dev/null) \
    && fail "eval --json without the target succeeded"
echo "$out" | jq -e '.error.code == "usage"' >/dev/null || fail "eval --json usage error: $out"
ok "--json errors"

# Regression: body mass in grams, its rows without a mass skipped in training and counted
r=$("$CLIENT" submit --data "$TRAIN" --target body_mass_g --hidden 64 --lr 0.001 \
    --batch-size 32 --epochs 60 --val-split 0 --seed 1) || fail "submit the regression"
wait_trained "$r" succeeded 60
[ "$(job_field "$r" metrics.rows_skipped_missing_target)" = 2 ] \
    || fail "the regression's skipped rows: $(job_field "$r" metrics)"
"$CLIENT" fetch "$r" --output "$T/mass.safetensors" >/dev/null || fail "fetch the regression"
"$CLIENT" eval --model "$T/mass.safetensors" --data "$TEST" --json > "$T/mass.json" \
    || fail "eval of the regression"
jq -e '.task == "regression" and .rows == 68 and (has("confusion") | not)
       and .metrics.r2 > 0.5 and .metrics.mae > 0 and .metrics.rmse >= .metrics.mae' \
    "$T/mass.json" >/dev/null || fail "the regression's eval: $(jq -c . "$T/mass.json")"
ok "regression eval: $(jq -c .metrics "$T/mass.json")"
