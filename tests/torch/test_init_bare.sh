#!/bin/bash
# test_init_bare - a bare PyTorch state dict (safetensors, no mt metadata) as --init: its
# tensors land where nn.Sequential has them (a negligible step later the model holds the
# same weights and PyTorch predicts what the engine does); a file that does not fit is
# refused with a named error (short file names: the child names the model by 12 bytes)
. "$(dirname "$0")/lib.sh"
begin mt-bare "" torch numpy
SAVE="$MT_SOURCE_DIR/tests/torch/save_state_dict.py"
cat > "$DIR/spec.json" <<'SPEC'
{"data_path": "iris.csv", "target": "species", "task": "classification", "hidden": [8],
 "epochs": 1, "val_split": 0, "optimizer": "sgd", "lr": 1e-12}
SPEC
train () {      # train NAME INIT: the training child's output in $DIR/NAME.out
    mkdir -p "$DIR/$1"
    "$MT_BIN_DIR/mtworker" --train-child --dir "$DIR/$1" --spec "$DIR/spec.json" \
        --data "$MT_TEST_DATA/iris.csv" --init "$2" 3>"$DIR/$1.out"
}
expect_refused () {     # expect_refused NAME TEXT: the child failed, saying TEXT
    grep -q '^bad_input ' "$DIR/$1.out" && grep -qF -- "$2" "$DIR/$1.out" \
        || { echo "$1: expected '$2' in:"; cat "$DIR/$1.out"; exit 1; }
}

"$PY" "$SAVE" "$DIR/ok.safetensors" 4,8,3 --seed 7
train ok "$DIR/ok.safetensors"
grep -q '^done' "$DIR/ok.out" || { cat "$DIR/ok.out"; exit 1; }
"$PY" - "$DIR/ok.safetensors" "$DIR/ok/model.safetensors" "$MT_SOURCE_DIR/tests/torch" <<'CHECK'
import sys
sys.path.insert(0, sys.argv[3])
import json, struct, torch
from check_model import load_safetensors
def tensors(path):
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    assert "__metadata__" not in header
    return {k: torch.frombuffer(bytearray(blob[8 + n + v["data_offsets"][0]:
                                               8 + n + v["data_offsets"][1]]),
                                dtype=torch.float32).reshape(v["shape"])
            for k, v in header.items()}
init, (meta, model) = tensors(sys.argv[1]), load_safetensors(sys.argv[2])
assert json.loads(meta["features"]) == ["sepal_length", "sepal_width", "petal_length",
                                         "petal_width"], meta["features"]
for name, t in init.items():
    diff = (model[name] - t).abs().max().item()
    assert diff < 1e-6, f"{name}: differs by {diff}"
    print(f"{name}: {list(t.shape)} in place (max difference {diff:.2g})")
CHECK
"$MT_BIN_DIR/mtclient" predict --model "$DIR/ok/model.safetensors" \
    --data "$MT_TEST_DATA/iris.csv" --out "$DIR/ok_pred.csv"
"$PY" "$MT_SOURCE_DIR/tests/torch/check_model.py" "$DIR/ok/model.safetensors" \
      "$MT_TEST_DATA/iris.csv" "$DIR/ok_pred.csv"

"$PY" "$SAVE" "$DIR/wide.st" 5,8,3
train wide "$DIR/wide.st" || true
expect_refused wide "the --init model wide.st: its layer shapes 5-8-3 differ from this job's 4-8-3"
"$PY" "$SAVE" "$DIR/deep.st" 4,8,8,3
train deep "$DIR/deep.st" || true
expect_refused deep "its layer shapes 4-8-8-3 differ from this job's 4-8-3"
"$PY" "$SAVE" "$DIR/nobias.st" 4,8,3 --drop 2.bias
train nobias "$DIR/nobias.st" || true
expect_refused nobias "the --init model nobias.st: missing tensor '2.bias'"
"$PY" "$SAVE" "$DIR/f64.st" 4,8,3 --dtype F64
train f64 "$DIR/f64.st" || true
expect_refused f64 "tensor '0.weight' has dtype F64, expected F32"
echo "bare state dict as --init: ok"
