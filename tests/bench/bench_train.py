"""bench_train - PyTorch 1.13 and numpy peers of bench_train.c, and the side-by-side table.

Modes (run_train.sh calls `report`; the others are subprocesses of it, so each
gets its own thread settings and is timed alone):
  make-tab CSV ROWS               10 features f0..f9 and y, deterministic
  make-wide X.f32 Y.i32 ROWS      784 float32 features and labels 0..9, deterministic
  torch-fit CSV OUT EPOCHS THREADS  the original system's job as one process
  torch-tab CSV THREADS RUNS | numpy-tab CSV RUNS | torch-wide X Y ROWS THREADS RUNS
  report BENCH_TRAIN BENCH_SGEMM TMPDIR [CSV_MBS]
Timed modes print "samples_per_s S" (training loop only, median of RUNS).
The report's targets are issue 15's: (a) >= 200x torch as a whole process, (b) >= 14x torch
and >= 30% of its sgemm-alone cap (bench_sgemm on (b)'s exact shapes: that GFLOP/s over
(b)'s FLOP per sample gives the samples/s the products alone allow), (c) >= 65% of the
sgemm-alone GFLOP/s on 1 thread and >= 55% on 2.
"""
import os
import statistics
import subprocess
import sys
import time

TAB_ROWS = 100_000
WIDE_ROWS = 60_000
WIDE_IN, WIDE_HIDDEN, WIDE_CLASSES = 784, 256, 10
LR = 0.01


def make_tab(path, rows):
    import numpy as np
    rng = np.random.default_rng(20240601)
    x = rng.uniform(-1, 1, size=(rows, 10)).astype(np.float32)
    x[:, 2::3] *= 100.0                       # mixed magnitudes, as real columns are
    w = np.linspace(-1, 1, 10)
    y = np.sin(x[:, 0] * 3) + x @ (w / np.abs(x).max(axis=0)) + 0.1 * rng.standard_normal(rows)
    with open(path, "w") as f:
        f.write(",".join(["f%d" % j for j in range(10)] + ["y"]) + "\n")
        np.savetxt(f, np.column_stack([x, y]), fmt="%.7g", delimiter=",")


def make_wide(xpath, ypath, rows):
    import numpy as np
    rng = np.random.default_rng(784)
    centers = rng.uniform(0, 1, size=(WIDE_CLASSES, WIDE_IN)).astype(np.float32)
    label = rng.integers(0, WIDE_CLASSES, size=rows).astype(np.int32)
    x = centers[label] + rng.uniform(-0.5, 0.5, size=(rows, WIDE_IN)).astype(np.float32)
    x.astype(np.float32).tofile(xpath)
    label.tofile(ypath)


def standardize(a):
    import numpy as np
    mean = a.mean(axis=0, dtype=np.float64)
    std = a.std(axis=0, dtype=np.float64)
    std[std == 0] = 1
    return ((a - mean) / std).astype(np.float32)


def load_tab(path):
    import numpy as np
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    return standardize(data[:, :-1]), standardize(data[:, -1:])


def torch_mlp(widths):
    import torch
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def torch_epoch(model, opt, loss_fn, x, y, batch):
    """One epoch: a fresh permutation, index the batch, step. Returns seconds."""
    import torch
    start = time.perf_counter()
    perm = torch.randperm(x.shape[0])
    for b in range(0, x.shape[0], batch):
        idx = perm[b:b + batch]
        opt.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def torch_fit(csv, out, epochs, threads):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    xs, ys = load_tab(csv)
    x, y = torch.from_numpy(xs), torch.from_numpy(ys)
    model = torch_mlp([x.shape[1], 16, 1])
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    for _ in range(epochs):
        torch_epoch(model, opt, torch.nn.functional.mse_loss, x, y, 16)
    torch.save(model.state_dict(), out)


def torch_rate(x, y, widths, loss_fn, batch, threads, runs):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    times = []
    for _ in range(runs):
        model = torch_mlp(widths)
        opt = torch.optim.Adam(model.parameters(), lr=LR)
        times.append(torch_epoch(model, opt, loss_fn, x, y, batch))
    print("samples_per_s %.0f" % (x.shape[0] / statistics.median(times)))


def numpy_tab(csv, runs):
    """10 -> 64 -> 64 -> 1 ReLU, MSE, Adam (torch's rule), float32, by hand."""
    import numpy as np
    xs, ys = load_tab(csv)
    rng = np.random.default_rng(1)
    widths, batch, times = [xs.shape[1], 64, 64, 1], 32, []
    f32 = np.float32
    for _ in range(runs):
        params = []
        for i in range(3):
            k = 1 / np.sqrt(widths[i])
            params.append(rng.uniform(-k, k, (widths[i + 1], widths[i])).astype(f32))
            params.append(rng.uniform(-k, k, widths[i + 1]).astype(f32))
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        b1, b2, eps, t = f32(0.9), f32(0.999), f32(1e-8), 0
        start = time.perf_counter()
        perm = rng.permutation(xs.shape[0])
        for b in range(0, xs.shape[0], batch):
            idx = perm[b:b + batch]
            x, y = xs[idx], ys[idx]
            acts = [x]
            for i in range(3):
                z = acts[-1] @ params[2 * i].T + params[2 * i + 1]
                acts.append(np.maximum(z, 0, out=z) if i < 2 else z)
            delta = (f32(2.0 / y.size) * (acts[-1] - y)).astype(f32)
            grads = [None] * 6
            for i in (2, 1, 0):
                grads[2 * i] = delta.T @ acts[i]
                grads[2 * i + 1] = delta.sum(axis=0)
                if i:
                    delta = (delta @ params[2 * i]) * (acts[i] > 0)
            t += 1
            step = f32(LR / (1 - 0.9 ** t))
            bc2 = f32(np.sqrt(1 - 0.999 ** t))
            for p, g, mi, vi in zip(params, grads, m, v):
                mi *= b1
                mi += (1 - b1) * g
                vi *= b2
                vi += (1 - b2) * g * g
                p -= step * mi / (np.sqrt(vi) / bc2 + eps)
        times.append(time.perf_counter() - start)
    print("samples_per_s %.0f" % (xs.shape[0] / statistics.median(times)))


def torch_tab(csv, threads, runs):
    import torch
    xs, ys = load_tab(csv)
    torch_rate(torch.from_numpy(xs), torch.from_numpy(ys), [xs.shape[1], 64, 64, 1],
               torch.nn.functional.mse_loss, 32, threads, runs)


def torch_wide(xpath, ypath, rows, threads, runs):
    import numpy as np
    import torch
    xs = standardize(np.fromfile(xpath, dtype=np.float32).reshape(rows, WIDE_IN))
    ys = np.fromfile(ypath, dtype=np.int32).astype(np.int64)
    torch_rate(torch.from_numpy(xs), torch.from_numpy(ys),
               [WIDE_IN, WIDE_HIDDEN, WIDE_HIDDEN, WIDE_CLASSES],
               torch.nn.functional.cross_entropy, 128, threads, runs)


# --- the report: every peer as its own process, OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE removed from each command's environment (mt's too) ---

def clean_env(threads=None):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    if threads is not None:
        env["OPENBLAS_NUM_THREADS"] = str(threads)
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def run(cmd, threads=None):
    out = subprocess.run(cmd, env=clean_env(threads), check=True, capture_output=True, text=True)
    return out.stdout


def rate(cmd, threads=None, key="samples_per_s"):
    words = run(cmd, threads).split()
    return float(words[words.index(key) + 1])


def whole_process(cmd, runs, threads):
    """Median wall seconds of runs fork/exec/wait of cmd."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=clean_env(threads), check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(bench, sgemm, tmp, csv_mbs):
    py, me = sys.executable, os.path.abspath(__file__)
    sample = os.path.join(os.path.dirname(me), "..", "..", "test_data", "sample_dataset.csv")
    tab = os.path.join(tmp, "tab.csv")
    wx, wy = os.path.join(tmp, "wide.f32"), os.path.join(tmp, "wide.i32")
    make_tab(tab, TAB_ROWS)
    make_wide(wx, wy, WIDE_ROWS)
    rows = []   # (what, mt, peer, unit, target ratio or None, ratio higher is better)

    for threads in (1, 2):
        for epochs, runs in ((2, 7), (1000, 5)):
            mt = whole_process([bench, "fit", sample, os.path.join(tmp, "m.safetensors"),
                                str(epochs), str(threads)], runs * 3, threads)
            pt = whole_process([py, me, "torch-fit", sample, os.path.join(tmp, "m.pt"),
                                str(epochs), str(threads)], runs, threads)
            rows.append(("(a) 1-16-1, %d epochs, whole process, t=%d" % (epochs, threads),
                         mt * 1e3, pt * 1e3, "ms", 200.0, False))
    for threads in (1, 2):
        mt = rate([bench, "tab", tab, str(threads), "5"], threads)
        pt = rate([py, me, "torch-tab", tab, str(threads), "3"], threads)
        npy = rate([py, me, "numpy-tab", tab, "3"], threads)
        sg_out = run([sgemm, "10,64,64,1", "32", str(TAB_ROWS), str(threads), "5"], threads)
        words = sg_out.split()
        sg_gf = float(words[words.index("gflops") + 1])
        per_sample = float(words[words.index("flop_per_sample") + 1])
        cap = sg_gf * 1e9 / per_sample
        rows.append(("(b) 10-64-64-1 vs torch, t=%d" % threads, mt, pt, "samples/s", 14.0, True))
        rows.append(("(b) 10-64-64-1 vs numpy, t=%d" % threads, mt, npy, "samples/s", 2.0, True))
        rows.append(("(b) sgemm alone, same shapes, t=%d" % threads, sg_gf, per_sample,
                     "GF/s,F/row", None, True))
        rows.append(("(b) step vs sgemm-alone cap, t=%d" % threads, mt, cap, "samples/s", 0.3,
                     True))
    for threads in (1, 2):
        n = str(WIDE_ROWS)
        mt_out = run([bench, "wide", wx, wy, n, str(threads), "3"], threads)
        sg_out = run([bench, "sgemm", n, str(threads), "5"], threads)
        pt = rate([py, me, "torch-wide", wx, wy, n, str(threads), "2"], threads)
        mt = float(mt_out.split()[2])
        mt_gf, sg_gf = float(mt_out.split()[6]), float(sg_out.split()[6])
        rows.append(("(c) 784-256-256-10 vs torch, t=%d" % threads, mt, pt, "samples/s", 1.5, True))
        rows.append(("(c) step GFLOP/s vs sgemm alone, t=%d" % threads, mt_gf, sg_gf, "GFLOP/s",
                     0.65 if threads == 1 else 0.55, True))
    print()
    print("%-42s %14s %14s %10s %8s  %s" % ("benchmark", "mt", "peer", "unit", "ratio", "target"))
    for what, mt, peer, unit, target, higher in rows:
        if unit == "GF/s,F/row":    # the cap's inputs: GFLOP/s and FLOP per sample, no ratio
            print("%-42s %14.1f %14.0f %10s %8s  cap %.0f samples/s" % (what, mt, peer, unit, "",
                                                                       mt * 1e9 / peer))
            continue
        ratio = mt / peer if higher else peer / mt
        verdict = "" if target is None else ("PASS" if ratio >= target else "MISS")
        goal = "(info)" if target is None else ">= %.2fx %s" % (target, verdict)
        print("%-42s %14.1f %14.1f %10s %7.2fx  %s" % (what, mt, peer, unit, ratio, goal))
    if csv_mbs:
        print("%-42s %14s %14s %10s %8s  %s" % ("CSV load, 100 MB (run_csv.sh)", csv_mbs, "", "MB/s",
                                                "", "(info)"))
    print("env: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed for every command (mt, torch, numpy)")


def main(argv):
    mode = argv[1] if len(argv) > 1 else ""
    if mode == "make-tab":
        make_tab(argv[2], int(argv[3]))
    elif mode == "make-wide":
        make_wide(argv[2], argv[3], int(argv[4]))
    elif mode == "torch-fit":
        torch_fit(argv[2], argv[3], int(argv[4]), int(argv[5]))
    elif mode == "torch-tab":
        torch_tab(argv[2], int(argv[3]), int(argv[4]))
    elif mode == "numpy-tab":
        numpy_tab(argv[2], int(argv[3]))
    elif mode == "torch-wide":
        torch_wide(argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]))
    elif mode == "report":
        report(argv[2], argv[3], argv[4], argv[5] if len(argv) > 5 else "")
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
