#!/bin/bash
# test_load_in_torch - models the engine writes load in PyTorch (safetensors parsed
# by hand) and predict the same values as the engine's predict_run, within 1e-5
. "$(dirname "$0")/lib.sh"
begin mt-torch "" torch numpy
MT_EXPORT_DIR="$DIR" "$MT_BIN_DIR/tests/test_train"
"$PY" "$MT_SOURCE_DIR/tests/torch/check_model.py" "$DIR/reg.safetensors" \
      "$MT_TEST_DATA/sample_dataset.csv" "$DIR/reg_pred.csv"
"$PY" "$MT_SOURCE_DIR/tests/torch/check_model.py" "$DIR/cls.safetensors" \
      "$MT_TEST_DATA/iris.csv" "$DIR/cls_pred.csv"
# A table with text and missing values: trained by the worker's training child, predicted by
# mtclient on rows with an unseen category and missing values, encoded again in Python
cat > "$DIR/spec.json" <<'SPEC'
{"data_path": "passengers.csv", "target": "survived", "task": "classification",
 "categorical": ["pclass"], "ignore": ["id"], "hidden": [8], "epochs": 5, "val_split": 0}
SPEC
"$MT_BIN_DIR/mtworker" --train-child --dir "$DIR" --spec "$DIR/spec.json" \
    --data "$MT_TEST_DATA/passengers.csv" 3>"$DIR/child.out"
grep -q '^done' "$DIR/child.out" || { cat "$DIR/child.out"; exit 1; }
grep -q '"rows_skipped_missing_target":1' "$DIR/child.out" || { cat "$DIR/child.out"; exit 1; }
# (the last row's spaces around unquoted fields are trimmed, by mt and by check_model.py)
printf 'name,pclass,sex,age,embarked,fare\nZed,3,male,,X,7.5\nYan,2,female,30,NA,?\nXav, 1,\tfemale , 22, S ,80\n' \
    > "$DIR/raw.csv"
"$MT_BIN_DIR/mtclient" predict --model "$DIR/model.safetensors" --data "$DIR/raw.csv" \
    --out "$DIR/raw_pred.csv" 2>"$DIR/predict.err"
grep -q "1 unseen category mapped to (other), 2 missing values imputed" "$DIR/predict.err" \
    || { cat "$DIR/predict.err"; exit 1; }
"$PY" "$MT_SOURCE_DIR/tests/torch/check_model.py" "$DIR/model.safetensors" \
      "$DIR/raw.csv" "$DIR/raw_pred.csv"
