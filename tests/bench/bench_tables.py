#!/usr/bin/python3
"""bench_tables - mt and scikit-learn side by side on real tables with text columns and
missing values, on the same fixed splits, with the same network and optimizer settings.

    /usr/bin/python3 tests/bench/bench_tables.py BUILD_DIR TEST_DATA_DIR WORK_DIR [EPOCHS] [SEEDS]

scikit-learn's pipeline: numeric columns through SimpleImputer(strategy="median",
add_indicator=True) then StandardScaler, text columns through
SimpleImputer(strategy="constant", fill_value="(missing)") then
OneHotEncoder(handle_unknown="ignore"); MLPClassifier / MLPRegressor with one hidden layer
of 64 (relu), adam, learning_rate_init 1e-3, batch_size 32, alpha 0 (mt has no weight decay
here), every epoch run (no early stopping); the regressor's target standardised
(TransformedTargetRegressor), as mt standardises inputs and target inside the model. mt: the
worker's training child (mtworker --train-child, --threads 1) with the same settings, then
`mtclient eval --json` on the test split. Each is run with SEEDS seeds; the mean and the
range are printed, and whether mt's mean is at least as good as sklearn's.
"""
import csv
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
from sklearn import metrics as M
from sklearn.exceptions import ConvergenceWarning
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.impute import SimpleImputer
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NA = {"", "NA", "N/A", "NaN", "null", "?"}
# (table, target, task, the metric that decides, higher is better)
CASES = [
    ("penguins", "species", "classification", "accuracy", True),
    ("penguins", "sex", "classification", "accuracy", True),
    ("penguins", "body_mass_g", "regression", "rmse", False),
]
SHOWN = {"classification": ["accuracy", "balanced_accuracy", "f1_macro", "log_loss", "roc_auc"],
         "regression": ["r2", "mae", "rmse"]}
HIGHER = {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "r2"}


def read(path, target):
    """rows with a target (as mt skips the others), split into numeric and text columns
    the way mt infers kinds: numeric when every value that is not missing is a number"""
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r[target].strip() not in NA]
    cols = [c for c in rows[0] if c != target]

    def number(v):
        try:
            float(v)
            return True
        except ValueError:
            return False
    numeric = [c for c in cols if all(r[c] in NA or number(r[c]) for r in rows)]
    text = [c for c in cols if c not in numeric]
    return rows, numeric, text


def matrix(rows, numeric, text):
    num = np.array([[np.nan if r[c] in NA else float(r[c]) for c in numeric] for r in rows])
    txt = np.array([[None if r[c] in NA else r[c] for c in text] for r in rows], dtype=object)
    return num, txt


def sklearn_run(train, test, target, task, epochs, seed):
    rows, numeric, text = read(train, target)
    trows, _, _ = read(test, target)
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True),
                              StandardScaler()), list(range(len(numeric)))),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                              OneHotEncoder(handle_unknown="ignore")),
         list(range(len(numeric), len(numeric) + len(text)))),
    ])
    settings = dict(hidden_layer_sizes=(64,), activation="relu", solver="adam",
                    learning_rate_init=1e-3, batch_size=32, alpha=0.0, max_iter=epochs,
                    shuffle=True, random_state=seed, tol=0.0, n_iter_no_change=epochs + 1)

    def table(rs):
        num, txt = matrix(rs, numeric, text)
        return np.concatenate([num.astype(object), txt], axis=1)
    x, tx = table(rows), table(trows)
    start = time.perf_counter()
    if task == "classification":
        y = [r[target] for r in rows]
        model = make_pipeline(pre, MLPClassifier(**settings)).fit(x, y)
        seconds = time.perf_counter() - start
        classes = list(model.classes_)
        ty = np.array([classes.index(r[target]) for r in trows])
        prob = model.predict_proba(tx)
        label = prob.argmax(axis=1)
        k = len(classes)
        auc = (M.roc_auc_score(ty, prob[:, 1]) if k == 2 else
               M.roc_auc_score(ty, prob, multi_class="ovr", labels=list(range(k))))
        return seconds, {"accuracy": M.accuracy_score(ty, label),
                         "balanced_accuracy": M.balanced_accuracy_score(ty, label),
                         "f1_macro": M.f1_score(ty, label, average="macro"),
                         "log_loss": M.log_loss(ty, prob, labels=list(range(k))),
                         "roc_auc": auc}
    y = np.array([float(r[target]) for r in rows])
    model = TransformedTargetRegressor(make_pipeline(pre, MLPRegressor(**settings)),
                                       transformer=StandardScaler()).fit(x, y)
    seconds = time.perf_counter() - start
    ty = np.array([float(r[target]) for r in trows])
    pred = model.predict(tx)
    return seconds, {"r2": M.r2_score(ty, pred), "mae": M.mean_absolute_error(ty, pred),
                     "rmse": float(np.sqrt(M.mean_squared_error(ty, pred)))}


def mt_run(build, train, test, target, task, epochs, seed, work):
    job = os.path.join(work, f"{target}-{seed}")
    os.makedirs(job, exist_ok=True)
    spec = {"data_path": os.path.basename(train), "target": target, "task": task,
            "hidden": [64], "activation": "relu", "optimizer": "adam", "lr": 1e-3,
            "batch_size": 32, "epochs": epochs, "val_split": 0, "seed": seed}
    with open(os.path.join(job, "spec.json"), "w") as f:
        json.dump(spec, f)
    start = time.perf_counter()
    # the child reports on its fd 3
    subprocess.run(["sh", "-c", 'exec "$@" 3>"$0"', os.path.join(job, "child.out"),
                    os.path.join(build, "mtworker"), "--train-child", "--dir", job,
                    "--spec", os.path.join(job, "spec.json"), "--data", train, "--threads", "1"],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    seconds = time.perf_counter() - start
    ev = subprocess.run([os.path.join(build, "mtclient"), "eval", "--model",
                         os.path.join(job, "model.safetensors"), "--data", test, "--json"],
                        check=True, capture_output=True, text=True)
    return seconds, json.loads(ev.stdout)["metrics"]


def summary(runs, key):
    values = [r[key] for r in runs]
    return statistics.mean(values), min(values), max(values)


def main():
    # every epoch is run by design (as mt runs them): not a failure to converge
    warnings.simplefilter("ignore", ConvergenceWarning)
    build, data, work = sys.argv[1:4]
    epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    seeds = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    verdicts = []
    for table, target, task, decides, _ in CASES:
        train = os.path.join(data, f"{table}_train.csv")
        test = os.path.join(data, f"{table}_test.csv")
        mt, sk, mt_s, sk_s = [], [], [], []
        for seed in range(1, seeds + 1):
            s, m = mt_run(build, train, test, target, task, epochs, seed, work)
            mt.append(m)
            mt_s.append(s)
            s, m = sklearn_run(train, test, target, task, epochs, seed)
            sk.append(m)
            sk_s.append(s)
        print(f"\n{table}: {target} ({task}), {epochs} epochs, hidden 64, adam, lr 1e-3, batch 32,"
              f" seeds 1..{seeds}; test split {os.path.basename(test)}")
        print(f"  {'metric':<18} {'mt mean [min, max]':<30} {'sklearn mean [min, max]':<30}")
        for key in SHOWN[task]:
            a, b = summary(mt, key), summary(sk, key)
            print(f"  {key:<18} {a[0]:<10.4f} [{a[1]:.4f}, {a[2]:.4f}]    "
                  f"{b[0]:<10.4f} [{b[1]:.4f}, {b[2]:.4f}]")
        print(f"  {'train seconds':<18} {statistics.median(mt_s):<30.3f}"
              f" {statistics.median(sk_s):<.3f}   (median, including start-up and file reading)")
        a, b = summary(mt, decides)[0], summary(sk, decides)[0]
        good = a >= b if decides in HIGHER else a <= b
        verdicts.append(good)
        print(f"  mt at least as good by mean {decides}: {'yes' if good else 'NO'}"
              f" (mt {a:.4f}, sklearn {b:.4f})")
    print("\nmt at least as good on every table:", "yes" if all(verdicts) else "NO")


if __name__ == "__main__":
    main()
