#!/usr/bin/python3
"""save_state_dict - write a bare PyTorch state dict as safetensors, the bytes that
safetensors.torch.save_file(model.state_dict(), OUT) writes (written by hand: Debian 12
has no python3-safetensors): an 8-byte little-endian header length, the JSON header
(dtype, shape, data_offsets per tensor, no mt metadata), then the raw little-endian data.

    /usr/bin/python3 tests/torch/save_state_dict.py OUT 4,8,3 [--seed N] [--drop NAME]
        [--dtype F32|F64]

The model is nn.Sequential(Linear(4, 8), ReLU(), Linear(8, 3)) for sizes 4,8,3 (a ReLU
between each pair of Linear layers), initialized by torch.manual_seed(N). --drop leaves a
tensor out and --dtype F64 stores doubles, to make files an mt job must refuse.
"""
import argparse
import json
import struct

import torch


def save(tensors, path, dtype="F32"):
    """The safetensors bytes of tensors (name -> tensor), in name order."""
    header, chunks, at = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        raw = t.to(torch.float64 if dtype == "F64" else torch.float32).numpy().astype(
            "<f8" if dtype == "F64" else "<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [at, at + len(raw)]}
        chunks.append(raw)
        at += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)          # safetensors pads the header to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("sizes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drop")
    parser.add_argument("--dtype", default="F32", choices=["F32", "F64"])
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    torch.manual_seed(args.seed)
    layers = []
    for i in range(len(sizes) - 1):
        if layers:
            layers.append(torch.nn.ReLU())
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
    state = torch.nn.Sequential(*layers).state_dict()
    if args.drop:
        del state[args.drop]
    save(state, args.out, args.dtype)


if __name__ == "__main__":
    main()
