#!/bin/bash
# test_load_in_torch - models the engine writes load in PyTorch (safetensors parsed
# by hand) and predict the same values as the engine's predict_run, within 1e-5
set -euo pipefail
PY=/usr/bin/python3
if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
    echo "skipped: $PY cannot import torch and numpy"
    exit 77
fi
: "${MT_BIN_DIR:?}" "${MT_SOURCE_DIR:?}" "${MT_TEST_DATA:?}"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/mt-torch.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
MT_EXPORT_DIR="$DIR" "$MT_BIN_DIR/tests/test_train"
"$PY" "$MT_SOURCE_DIR/tests/torch/check_model.py" "$DIR/reg.safetensors" \
      "$MT_TEST_DATA/sample_dataset.csv" "$DIR/reg_pred.csv"
"$PY" "$MT_SOURCE_DIR/tests/torch/check_model.py" "$DIR/cls.safetensors" \
      "$MT_TEST_DATA/iris.csv" "$DIR/cls_pred.csv"
