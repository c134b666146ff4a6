#!/usr/bin/env bash
# test_metrics - a fixed validation file, per-epoch metrics in status --json, --metric and --class-weight checked at submit, a diverged run fails by name
. "$(dirname "$0")/lib.sh"

# iris: every fifth row is the validation file (30 rows, 10 of each class)
awk -F, 'NR == 1 || (NR - 1) % 5 != 0' "$MT_TEST_DATA/iris.csv" > "$T/train.csv"
awk -F, 'NR == 1 || (NR - 1) % 5 == 0' "$MT_TEST_DATA/iris.csv" > "$T/val.csv"
[ "$(wc -l < "$T/val.csv")" = 31 ] || fail "the validation file is not 30 rows"
# and two rows without a target, skipped and counted as the validation file's
printf '5.0,3.4,1.5,0.2,\n6.1,2.8,4.7,1.2,NA\n' >> "$T/val.csv"

start_broker
start_workers 1

# What the client can tell is refused before anything is sent
refused_usage "an unknown class weight" "--class-weight names class 'tiger', which the target does not have; its classes are setosa, versicolor, virginica" \
    "$CLIENT" submit --data "$T/train.csv" --target species --task classification --class-weight tiger=2
refused_usage "a metric of the other task" "metric (--metric) 'r2' does not fit --task classification" \
    "$CLIENT" submit --data "$T/train.csv" --target species --task classification --metric r2
refused_usage "stratify without a split" "stratify (--stratify) needs a validation split" \
    "$CLIENT" submit --data "$T/train.csv" --target species --task classification --stratify --val-data "$T/val.csv"
[ "$("$CLIENT" list --json | jq length)" = 0 ] || fail "a refused job was submitted"

# The validation file's rows measure every epoch, and the best epoch is the best macro F1
j=$("$CLIENT" submit --data "$T/train.csv" --val-data "$T/val.csv" --target species \
    --task classification --epochs 6 --lr 0.02 --metric f1_macro --class-weight setosa=2 \
    --patience 3 --seed 3) || fail "submit with --val-data"
wait_trained "$j" succeeded 60
"$CLIENT" status "$j" --json > "$T/status.json"
epochs=$(jq '.epochs | length' "$T/status.json")
[ "$epochs" -ge 4 ] && [ "$epochs" -le 6 ] || fail "status --json has $epochs epochs of metrics"
jq -e '.epochs | map(.metrics | (.accuracy | type) == "number" and (.f1_macro | type) == "number"
        and (.roc_auc | type) == "number" and (.balanced_accuracy | type) == "number"
        and (.log_loss | type) == "number") | all' "$T/status.json" >/dev/null \
    || fail "an epoch lacks a metric: $(jq -c '.epochs' "$T/status.json")"
jq -e '[.epochs[].epoch] == [range(1; (.epochs | length) + 1)]' "$T/status.json" >/dev/null \
    || fail "the epochs are not 1..N in order"
# 30 rows in the confusion matrix: the file's, not a split of the training rows
[ "$(jq '[.metrics.val_metrics.confusion[][]] | add' "$T/status.json")" = 30 ] \
    || fail "the confusion matrix does not count the 30 validation rows: $(jq -c .metrics "$T/status.json")"
[ "$(jq -r '.metrics.metric + " " + .metrics.best_by' "$T/status.json")" = "f1_macro f1_macro" ] \
    || fail "metric and best_by: $(jq -c .metrics "$T/status.json")"
# The best epoch's F1 is the best of the epochs, and the final metrics are that epoch's
best=$(jq '.metrics.best_epoch' "$T/status.json")
jq -e --argjson b "$best" '(.epochs | map(.metrics.f1_macro) | max) as $m
        | (.epochs[] | select(.epoch == $b) | .metrics.f1_macro) == $m
        and .metrics.val_metrics.f1_macro == $m and .metrics.val_metric == $m' \
    "$T/status.json" >/dev/null || fail "best epoch $best is not the best F1: $(jq -c '[.epochs[] | [.epoch, .metrics.f1_macro]], .metrics' "$T/status.json")"
[ "$(jq -c '.metrics | [.rows_skipped_missing_target, .val_rows_skipped_missing_target]' "$T/status.json")" = "[0,2]" ] \
    || fail "the validation file's rows without a target are not counted: $(jq -c .metrics "$T/status.json")"
ok "--val-data: $epochs epochs measured on 30 rows (2 without a target counted), best F1 at epoch $best"

# The model says which epoch its weights are from
"$CLIENT" fetch "$j" --output "$T/model.safetensors" >/dev/null || fail "fetch"
python3 - "$T/model.safetensors" "$best" <<'PY' || fail "the model's metadata does not name epoch $best"
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    meta = json.loads(f.read(n))["__metadata__"]
assert meta["weights_epoch"] == sys.argv[2], meta
PY
ok "the model's weights_epoch is $best"

# A loss that overflows fails the job as diverged, once, naming where, with no model
awk 'BEGIN { print "x,y"; for (i = 0; i < 64; i++) printf "%d,%d\n", i, 1000 * i }' > "$T/big.csv"
d=$("$CLIENT" submit --data "$T/big.csv" --target y --optimizer sgd --lr 1000 --hidden 0 \
    --epochs 50 --val-split 0) || fail "submit of a diverging job"
wait_state "$d" failed 60
err=$(job_field "$d" error)
echo "$err" | grep -qE "^diverged: the training loss became (NaN|infinite) at epoch [0-9]+, step [0-9]+" \
    || fail "a diverged job says '$err'"
[ "$(job_field "$d" attempt)" = 1 ] || fail "a diverged job was retried"
[ "$(job_field "$d" model_hash)" = null ] || fail "a diverged job offers a model"
ok "diverged: $err"
