#!/usr/bin/python3
"""check_model - load an mt model (safetensors, parsed by hand) into torch.nn.Sequential,
encode a CSV's raw rows with the model's plan (metadata "plan"), and compare the
predictions with the engine's predict output.

    /usr/bin/python3 tests/torch/check_model.py MODEL DATA.csv PREDICTIONS.csv
"""
import csv
import json
import struct
import sys

import numpy as np
import torch

ACTS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}


def load_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    meta = header.pop("__metadata__")
    tensors = {}
    for name, entry in header.items():
        assert entry["dtype"] == "F32", name
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype="<f4").reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return meta, tensors


def build(meta, tensors):
    spec = json.loads(meta["spec"])
    act = ACTS[spec.get("activation", "relu")]
    layers = []
    index = 0
    while f"{index}.weight" in tensors:
        out_dim, in_dim = tensors[f"{index}.weight"].shape
        if layers:
            layers.append(act())
        layers.append(torch.nn.Linear(in_dim, out_dim))
        index += 2
    model = torch.nn.Sequential(*layers)
    state = {k: v for k, v in tensors.items() if k[0].isdigit()}
    model.load_state_dict(state)          # strict: names and shapes must match
    return model


def encode(plan, row):
    """One raw row (column -> text) as the plan's inputs, as mtclient predict encodes it."""
    x = [0.0] * plan["width"]
    for c in plan["columns"]:
        v, at = row.get(c["name"]), c["offset"]
        if isinstance(v, str):
            v = v.strip(" \t")     # as mt trims unquoted CSV fields (a quoted one keeps them)
        missing = v is None or v in plan["na_values"]
        if c["kind"] == "numeric":
            x[at] = c["median"] if missing else float(v)
            if c["indicator"]:
                x[at + 1] = 1.0 if missing else 0.0
        elif (missing or v == "(missing)") and c["missing"]:
            x[at + len(c["categories"])] = 1.0
        elif not missing and v in c["categories"]:
            x[at + c["categories"].index(v)] = 1.0
        else:
            x[at + c["width"] - 1] = 1.0        # (other): unseen, or missing never seen
    return x


def main():
    model_path, data_path, pred_path = sys.argv[1:4]
    meta, tensors = load_safetensors(model_path)
    model = build(meta, tensors)
    features = json.loads(meta["features"])
    with open(data_path) as f:
        rows = list(csv.DictReader(f))
    if "plan" in meta:
        plan = json.loads(meta["plan"])
        assert plan["width"] == len(features), (plan["width"], len(features))
        x = torch.tensor([encode(plan, r) for r in rows], dtype=torch.float32)
    else:
        x = torch.tensor([[float(r[c]) for c in features] for r in rows], dtype=torch.float32)
    x = (x - tensors["input.mean"]) / tensors["input.std"]
    with torch.no_grad():
        out = model(x)
    with open(pred_path) as f:
        reader = csv.reader(f)
        head = next(reader)
        engine = [row for row in reader]
    if meta["task"] == "regression":
        assert head == ["prediction"], head
        expected = out[:, 0] * tensors["target.std"][0] + tensors["target.mean"][0]
        got = torch.tensor([float(r[0]) for r in engine])
    else:
        classes = json.loads(meta["classes"])
        assert head == ["label"] + ["p_" + c for c in classes], head
        expected = torch.softmax(out, dim=1)
        got = torch.tensor([[float(v) for v in r[1:]] for r in engine])
        labels = [classes[i] for i in expected.argmax(dim=1).tolist()]
        mismatched = sum(a != r[0] for a, r in zip(labels, engine))
        assert mismatched == 0, f"{mismatched} labels differ"
    err = (got - expected).abs().max().item()
    print(f"{model_path}: {len(rows)} rows, {meta['task']}, max |engine - torch| = {err:.3g}")
    assert len(engine) == len(rows)
    assert err <= 1e-5, err


if __name__ == "__main__":
    main()
