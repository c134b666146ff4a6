#!/usr/bin/python3
"""eval_sklearn - compute sklearn.metrics from `mtclient predict`'s output on a labelled
file and compare with `mtclient eval --json` on the same file, to 1e-6.

    /usr/bin/python3 tests/torch/eval_sklearn.py DATA.csv TARGET PREDICTIONS.csv EVAL.json

Rows whose target is missing (an mt missing-value token) are left out, as eval leaves them
out; the count must match eval's rows_skipped_missing_target. A regression target is read
as float32, as the engine reads it.
"""
import csv
import json
import math
import sys

import numpy as np
from sklearn import metrics as M

NA = {"", "NA", "N/A", "NaN", "null", "?"}
TOL = 1e-6


def close(name, mine, theirs, relative=False):
    """within TOL, or TOL of theirs for figures in the target's units (grams, say)"""
    tol = TOL * max(1.0, abs(theirs)) if relative else TOL
    if mine is None or not abs(mine - theirs) <= tol:
        sys.exit(f"{name}: mt eval says {mine!r}, sklearn {theirs!r}")
    print(f"ok: {name} {mine:.9g} (sklearn {theirs:.9g})")


def main():
    data, target, pred_path, eval_path = sys.argv[1:5]
    with open(data, newline="") as f:
        truth = [row[target].strip() for row in csv.DictReader(f)]
    with open(pred_path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        preds = list(reader)
    with open(eval_path) as f:
        ev = json.load(f)
    assert len(preds) == len(truth), (len(preds), len(truth))
    keep = [i for i, t in enumerate(truth) if t not in NA]
    if ev["rows"] != len(keep) or ev["rows_skipped_missing_target"] != len(truth) - len(keep):
        sys.exit(f"eval counts {ev['rows']} rows, {ev['rows_skipped_missing_target']} skipped;"
                 f" the file has {len(keep)} with a target, {len(truth) - len(keep)} without")
    got = ev["metrics"]
    if ev["task"] == "regression":
        y = np.array([truth[i] for i in keep], dtype=np.float32).astype(np.float64)
        p = np.array([float(preds[i][0]) for i in keep])
        close("r2", got["r2"], M.r2_score(y, p))
        close("mae", got["mae"], M.mean_absolute_error(y, p), relative=True)
        close("rmse", got["rmse"], math.sqrt(M.mean_squared_error(y, p)), relative=True)
        return
    classes = ev["classes"]
    assert header == ["label"] + ["p_" + c for c in classes], header
    k = len(classes)
    y = np.array([classes.index(truth[i]) for i in keep])
    prob = np.array([[float(v) for v in preds[i][1:]] for i in keep])
    label = np.array([classes.index(preds[i][0]) for i in keep])
    assert (label == prob.argmax(axis=1)).all(), "predict's label is not its argmax"
    close("accuracy", got["accuracy"], M.accuracy_score(y, label))
    close("balanced_accuracy", got["balanced_accuracy"], M.balanced_accuracy_score(y, label))
    close("f1_macro", got["f1_macro"], M.f1_score(y, label, average="macro"))
    close("log_loss", got["log_loss"], M.log_loss(y, prob, labels=list(range(k))))
    if k == 2:
        auc = M.roc_auc_score(y, prob[:, 1])
    else:
        auc = M.roc_auc_score(y, prob, multi_class="ovr", average="macro",
                              labels=list(range(k)))
    close("roc_auc", got["roc_auc"], auc)
    cm = M.confusion_matrix(y, label, labels=list(range(k))).tolist()
    if cm != ev["confusion"]:
        sys.exit(f"confusion: mt eval says {ev['confusion']}, sklearn {cm}")
    print(f"ok: confusion {cm}")


if __name__ == "__main__":
    main()
