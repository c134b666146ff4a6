#!/usr/bin/python3
"""make_golden - write PyTorch reference runs for the engine to test_data/golden/.

Regenerate (from the repository root) with:

    /usr/bin/python3 tests/torch/make_golden.py test_data/golden

Each case trains a small nn.Sequential(Linear, Act, ..., Linear) with torch 1.13
from initial weights drawn here (and stored in the file), on data preprocessed
exactly as the engine does (standardized with the rows' mean and population
std, computed in float64 and rounded to float32; a zero std counts as 1),
without shuffling or a validation split, in mini-batches taken in row order
with the last partial batch kept. The learning rate of step t is the engine's
documented schedule: lr * warm(t) * cos(t) (see worker/engine/include/optim.h), set on the
param group before each optimizer step. The file keeps the raw data, the
spec, the initial weights, every step's loss and the final weights.
"""
import json
import math
import os
import sys

import numpy as np
import torch

ACTS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}

CASES = [
    dict(name="reg_sgd_relu", task="regression", hidden=[5, 4], activation="relu",
         optimizer="sgd", lr=0.05, rows=14, batch_size=4, epochs=3),
    dict(name="reg_momentum_tanh", task="regression", hidden=[5, 4], activation="tanh",
         optimizer="sgd", lr=0.02, momentum=0.9, weight_decay=0.01, rows=17, batch_size=5,
         epochs=4),
    dict(name="reg_nesterov_relu", task="regression", hidden=[6], activation="relu",
         optimizer="sgd", lr=0.03, momentum=0.8, nesterov=True, weight_decay=0.001, rows=13,
         batch_size=4, epochs=3),
    dict(name="cls_adam_tanh", task="classification", classes=3, hidden=[5, 4],
         activation="tanh", optimizer="adam", lr=0.01, weight_decay=0.01, rows=18,
         batch_size=5, epochs=4),
    dict(name="cls_adamw_relu", task="classification", classes=3, hidden=[5, 4],
         activation="relu", optimizer="adamw", lr=0.02, weight_decay=0.1, rows=16,
         batch_size=6, epochs=4),
    dict(name="reg_adam_linear_cosine", task="regression", hidden=[], activation="relu",
         optimizer="adam", lr=0.05, schedule="cosine", warmup_steps=3, rows=15,
         batch_size=4, epochs=5),
    dict(name="cls_sgd_sigmoid", task="classification", classes=2, hidden=[6],
         activation="sigmoid", optimizer="sgd", lr=0.1, momentum=0.5, rows=12, batch_size=5,
         epochs=3),
    dict(name="cls_weighted_adam_relu", task="classification", classes=3, hidden=[5],
         activation="relu", optimizer="adam", lr=0.02, rows=19, batch_size=5, epochs=4,
         class_weight={"c0": 2.5, "c1": 0.5}),
    dict(name="cls_balanced_sgd_tanh", task="classification", classes=3, hidden=[5, 4],
         activation="tanh", optimizer="sgd", lr=0.1, momentum=0.9, rows=21, batch_size=4,
         epochs=3, class_weight="balanced"),
]

DEFAULTS = dict(momentum=0.0, nesterov=False, weight_decay=0.0, beta1=0.9, beta2=0.999,
                eps=1e-8, schedule="constant", warmup_steps=0)


def standardize(values):
    """The engine's scaling: float64 moments rounded to float32, applied in float32."""
    v64 = values.astype(np.float64)
    mean = v64.mean(axis=0)
    std = np.sqrt(((v64 - mean) ** 2).mean(axis=0))
    mean32 = mean.astype(np.float32)
    std32 = std.astype(np.float32)
    std32[std32 == 0] = 1
    return (torch.from_numpy(values) - torch.from_numpy(mean32)) / torch.from_numpy(std32)


def lr_at(case, t, total):
    factor = 1.0
    if case["warmup_steps"] > 0 and t < case["warmup_steps"]:
        factor = (t + 1) / case["warmup_steps"]
    if case["schedule"] == "cosine":
        factor *= 0.5 * (1.0 + math.cos(math.pi * min(t, total) / total))
    return case["lr"] * factor


def make_optimizer(case, params):
    if case["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=case["lr"], momentum=case["momentum"],
                               nesterov=case["nesterov"], weight_decay=case["weight_decay"])
    cls = torch.optim.Adam if case["optimizer"] == "adam" else torch.optim.AdamW
    return cls(params, lr=case["lr"], betas=(case["beta1"], case["beta2"]), eps=case["eps"],
               weight_decay=case["weight_decay"])


def state(model):
    return {k: v.detach().numpy().tolist() for k, v in model.state_dict().items()}


def class_weights(case, labels):
    """CrossEntropyLoss's weight: "balanced" is n / (k count_c) (sklearn's
    compute_class_weight), in float64 rounded to float32; named classes c0, c1...
    take their weight and the others 1."""
    k = case["classes"]
    spec = case["class_weight"]
    if spec == "balanced":
        counts = np.bincount(labels, minlength=k).astype(np.float64)
        w = len(labels) / (k * counts)
    else:
        w = np.array([spec.get("c%d" % c, 1.0) for c in range(k)])
    return torch.from_numpy(w.astype(np.float32))


def run(case, seed):
    case = {**DEFAULTS, **case}
    gen = np.random.default_rng(seed)
    rows, cols = case["rows"], 3
    x = (gen.normal(size=(rows, cols)) * [1.0, 3.0, 0.5] + [0.0, 2.0, -1.0]).astype(np.float32)
    if case["task"] == "regression":
        y = (np.sin(x[:, 0]) + 0.5 * x[:, 1] - x[:, 2] ** 2
             + 0.1 * gen.normal(size=rows)).astype(np.float32)
        target = standardize(y.reshape(-1, 1))
    else:
        k = case["classes"]
        labels = np.argmax(x @ gen.normal(size=(cols, k)), axis=1)
        labels[:k] = np.arange(k)          # every class present
        target = torch.from_numpy(labels.astype(np.int64))
    xs = standardize(x)

    torch.manual_seed(seed)
    layers, width = [], cols
    outputs = 1 if case["task"] == "regression" else case["classes"]
    for h in case["hidden"]:
        layers += [torch.nn.Linear(width, h), ACTS[case["activation"]]()]
        width = h
    layers.append(torch.nn.Linear(width, outputs))
    model = torch.nn.Sequential(*layers)
    init = state(model)

    optimizer = make_optimizer(case, model.parameters())
    if case["task"] == "regression":
        loss_fn = torch.nn.MSELoss()
    elif "class_weight" in case:
        loss_fn = torch.nn.CrossEntropyLoss(weight=class_weights(case, labels))
    else:
        loss_fn = torch.nn.CrossEntropyLoss()
    batches = (rows + case["batch_size"] - 1) // case["batch_size"]
    total = batches * case["epochs"]
    losses, t = [], 0
    for _ in range(case["epochs"]):
        for b in range(batches):
            sl = slice(b * case["batch_size"], (b + 1) * case["batch_size"])
            optimizer.zero_grad()
            loss = loss_fn(model(xs[sl]), target[sl])
            loss.backward()
            for group in optimizer.param_groups:
                group["lr"] = lr_at(case, t, total)
            optimizer.step()
            losses.append(loss.item())
            t += 1
    golden = dict(case=case, torch=torch.__version__, x=x.tolist(), init=init,
                  losses=losses, final=state(model))
    if case["task"] == "regression":
        golden["y"] = y.tolist()
    else:
        golden["label"] = labels.tolist()
    return golden


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "test_data/golden"
    os.makedirs(out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    for i, case in enumerate(CASES):
        path = os.path.join(out, case["name"] + ".json")
        with open(path, "w") as f:
            json.dump(run(case, 1000 + i), f, indent=1)
            f.write("\n")
        print("wrote", path)


if __name__ == "__main__":
    main()
