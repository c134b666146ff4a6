#!/bin/sh
# run_sweep - a random search of 27 configurations on digits (test_data/digits.csv), side by side:
# mt with --early-stop asha, mt with none, and Optuna (TPE + MedianPruner) with PyTorch trials
# of the same model, data and threads. Prints the machine line first, then for each the best
# validation accuracy, the wall time and the epochs run, and whether ASHA reached the full
# search's best within 1% in at most 1/3 of its epochs. Informational: exits 0 on a miss.
# usage: tests/bench/run_sweep.sh BUILD_DIR [WORKERS]   (default 2 workers, 1 thread each)
set -eu
BUILD=${1:?usage: run_sweep.sh BUILD_DIR [WORKERS]}
WORKERS=${2:-2}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
PY=/usr/bin/python3
DATA=$SRC/test_data/digits.csv
. "$SRC/tests/bench/fleet.sh"
sh "$SRC/tests/bench/machine.sh"
echo "sweep: digits (1797 rows, 64 inputs, 10 classes), 27 random trials (seed 1) of lr log-uniform" \
     "1e-4..3e-2, hidden 32|64|64,64|128, batch_size 16|32|64, weight_decay uniform 0..1e-3;" \
     "adam, 27 epochs, val_split 0.2, ranked by validation accuracy; $WORKERS workers x 1 thread"

start_fleet "$BUILD" "$TMP" "$WORKERS" --progress-ms 1000
export MT_BROKER=$CEP

# run_mt RULE: one sweep; prints "best wall_s epochs best_finished"
run_mt () {
    t0=$(date +%s.%N)
    s=$("$BUILD/mtclient" sweep --data "$DATA" --target digit --task classification \
        --epochs 27 --val-split 0.2 --optimizer adam --checkpoint-every 0 \
        --param lr=log-uniform:1e-4:3e-2 --param 'hidden=32|64|64,64|128' \
        --param 'batch_size=16|32|64' --param weight_decay=uniform:0:0.001 \
        --search random --trials 27 --seed 1 --metric accuracy \
        --early-stop "$1" --min-epochs 1 --reduction 3 --name "bench-$1")
    while [ "$("$BUILD/mtclient" sweep status "$s" --json | jq -r .state)" = running ]; do
        sleep 0.05
    done
    t1=$(date +%s.%N)
    "$BUILD/mtclient" sweep status "$s" --json > "$TMP/sweep-$1.json"
    jq -r --arg wall "$(echo "$t1 - $t0" | bc)" \
        '[([.trials[].best_metric | select(. != null)] | max), ($wall | tonumber),
          ([.trials[].epochs_run] | add), .best.best_metric,
          ([.trials[] | select(.state == "pruned")] | length)] | @tsv' "$TMP/sweep-$1.json"
}
echo "== mt, --early-stop asha (R=1, eta=3: rungs at epochs 1, 3, 9) =="
ASHA=$(run_mt asha)
echo "== mt, --early-stop none =="
NONE=$(run_mt none)

echo "== Optuna $($PY -c 'import optuna; print(optuna.__version__)') TPE + MedianPruner," \
     "PyTorch $($PY -c 'import torch; print(torch.__version__)'), $WORKERS trials at once, 1 thread each =="
OPTUNA=$(OMP_NUM_THREADS=1 "$PY" - "$DATA" "$WORKERS" <<'PYEOF'
import sys, time, warnings
import numpy as np, torch, optuna
warnings.filterwarnings("ignore")
optuna.logging.set_verbosity(optuna.logging.WARNING)
torch.set_num_threads(1)
path, jobs = sys.argv[1], int(sys.argv[2])
raw = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=str)
x = raw[:, :-1].astype(np.float32)
classes = sorted(set(raw[:, -1]))
y = np.array([classes.index(v) for v in raw[:, -1]], dtype=np.int64)
rng = np.random.default_rng(1)
order = rng.permutation(len(y))
n_val = int(round(0.2 * len(y)))
val, train = order[:n_val], order[n_val:]
mean, std = x[train].mean(0), x[train].std(0)
std[std == 0] = 1
xs = torch.tensor((x - mean) / std)
yt = torch.tensor(y)
epochs_run = [0]

def objective(trial):
    lr = trial.suggest_float("lr", 1e-4, 3e-2, log=True)
    hidden = trial.suggest_categorical("hidden", ["32", "64", "64,64", "128"])
    batch = trial.suggest_categorical("batch_size", [16, 32, 64])
    wd = trial.suggest_float("weight_decay", 0.0, 1e-3)
    torch.manual_seed(trial.number)
    layers, width = [], 64
    for h in [int(v) for v in hidden.split(",")]:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    model = torch.nn.Sequential(*layers, torch.nn.Linear(width, len(classes)))
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    lossf = torch.nn.CrossEntropyLoss()
    best = 0.0
    g = torch.Generator().manual_seed(trial.number)
    tr = torch.tensor(train)
    for epoch in range(1, 28):
        perm = tr[torch.randperm(len(tr), generator=g)]
        model.train()
        for i in range(0, len(perm), batch):
            b = perm[i:i + batch]
            opt.zero_grad()
            lossf(model(xs[b]), yt[b]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            acc = (model(xs[val]).argmax(1) == yt[val]).float().mean().item()
        epochs_run[0] += 1
        best = max(best, acc)
        trial.report(acc, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return best

t0 = time.time()
study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=1),
                            pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1))
study.optimize(objective, n_trials=27, n_jobs=jobs)
wall = time.time() - t0
best = max(max(t.intermediate_values.values()) for t in study.trials if t.intermediate_values)
pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
print(f"{best}\t{wall}\t{epochs_run[0]}\t{study.best_value}\t{pruned}")
PYEOF
)

row () {
    echo "$2" | awk -F'\t' -v name="$1" '{ printf "%-34s best val accuracy %.4f (finished trials: %.4f)  wall %6.2f s  epochs run %4d of 729  pruned %2d\n", name, $1, $4, $2, $3, $5 }'
}
echo "== results =="
row "mt asha" "$ASHA"
row "mt none (the full search)" "$NONE"
row "optuna tpe + median (pytorch)" "$OPTUNA"
echo "$ASHA	$NONE" | awk -F'\t' '{
    within = ($6 - $1) <= 0.01 * $6; third = $3 <= $8 / 3
    printf "target: asha best %.4f within 1%% of the full search best %.4f: %s; epochs %d <= 1/3 of %d: %s\n",
        $1, $6, within ? "PASS" : "MISS", $3, $8, third ? "PASS" : "MISS" }'

# Small trials: what a trial costs beyond its training (run_small_trials.sh: a broker and
# workers of their own; 200 one-epoch trials and 100 of 50 epochs)
echo "== mt, small trials (iris, --parallel $WORKERS, --early-stop none) =="
TINY=200 FIFTY=100 WORKERS=$WORKERS sh "$SRC/tests/bench/run_small_trials.sh" "$BUILD" \
    | grep -E 'trials/s' || echo "small trials: the run failed"

# The small-job figures (issue 17, section 2): trivial jobs on 2 real mtworkers, from
# run_broker.sh's real-worker part, so a sweep's per-trial overhead is printed beside it
echo "== small jobs: 2 mtworkers, trivial jobs (run_broker.sh, ONLY_REAL=1) =="
ONLY_REAL=1 sh "$SRC/tests/bench/run_broker.sh" "$BUILD" 2>&1 \
    | grep -E '^real|trivial jobs/s|first-step' || echo "small jobs: the run failed"
