#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates the golden data of seqnet's non-recurrent layers (Linear, Embedding) and of the second seed's
RegLSTM (LSTM + Linear head) from PyTorch.

Regenerate (from the repository root, with Debian's PyTorch):

    /usr/bin/python3 tools/gen_golden_layers.py

This rewrites tests/golden/layers_float64.txt and tests/golden/layers_float32.txt. The files use the format
of tools/gen_golden.py (read by tests/golden_io.hpp), whose number formatting this script reuses:

    module Linear      options in_features=.. out_features=.. bias=0|1
                       params weight[, bias]; input x; output y
    module Embedding   options num_embeddings=.. embedding_dim=.. padding_idx=<int as given, or none>
                               from_pretrained=0|1 freeze=0|1
                       params weight; input ids (integers, written as hex floats); output y
    module RegLSTM     options input_size=.. hidden_size=.. num_layers=.. bidirectional=0|1 out_features=..
                       params rnn.* then reg.0.weight, reg.0.bias (PyTorch's state_dict names);
                       input x; output y; repr is "<repr(rnn)> | <repr(reg[0])>"

Every case seeds torch with its own seed (from its name) and torch runs single-threaded, so the output is
deterministic. tests/test_linear.cpp and tests/test_embedding.cpp require at least LAYERS_MIN_CASES cases
(tests/layers_golden.hpp); raise it when adding cases. Zero-size tensors are tested in C++ without golden
data: the file format cannot hold an empty values line.
"""

import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import hex_float, option_value, seed_of, tensor_lines  # noqa: E402  (shared number format)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "golden")
DTYPES = [("float64", torch.float64), ("float32", torch.float32)]


def linear(name, in_features, out_features, x_shape, bias=True):
    return {"name": name, "module": "Linear", "x": x_shape,
            "options": {"in_features": in_features, "out_features": out_features, "bias": bias}}


def embedding(name, num_embeddings, embedding_dim, ids_shape, padding_idx=None, from_pretrained=False,
              freeze=True, ids=None):
    return {"name": name, "module": "Embedding", "ids_shape": ids_shape, "ids": ids,
            "options": {"num_embeddings": num_embeddings, "embedding_dim": embedding_dim,
                        "padding_idx": "none" if padding_idx is None else padding_idx,
                        "from_pretrained": from_pretrained, "freeze": freeze}}


def reg_lstm(name, input_size, hidden_size, num_layers, seq, batch, bidirectional=False, out_features=1):
    return {"name": name, "module": "RegLSTM", "x": [seq, batch, input_size],
            "options": {"input_size": input_size, "hidden_size": hidden_size, "num_layers": num_layers,
                        "bidirectional": bidirectional, "out_features": out_features}}


CASES = [
    # ---- Linear: ranks 1-4, bias on and off, sizes 1, a GEMM-sized case
    linear("linear_rank1", 4, 3, [4]),
    linear("linear_rank1_nobias", 5, 2, [5], bias=False),
    linear("linear_rank1_out1", 6, 1, [6]),
    linear("linear_rank2_16_to_1", 16, 1, [30, 16]),
    linear("linear_rank2_nobias", 7, 5, [3, 7], bias=False),
    linear("linear_rank2_in1_out1", 1, 1, [6, 1]),
    linear("linear_rank2_batch1", 9, 4, [1, 9]),
    linear("linear_rank2_wide_64_to_48", 64, 48, [10, 64]),
    linear("linear_rank3", 20, 7, [5, 6, 20]),
    linear("linear_rank3_nobias_out1", 6, 1, [4, 3, 6], bias=False),
    linear("linear_rank3_in1", 1, 4, [2, 3, 1]),
    linear("linear_rank4", 5, 2, [2, 3, 4, 5]),
    linear("linear_rank4_nobias", 3, 4, [2, 1, 2, 3], bias=False),
    # ---- Embedding: ids of rank 0-3, padding_idx (positive, 0, negative), from_pretrained
    embedding("embedding_rank0", 5, 3, [], ids=[4]),
    embedding("embedding_rank1", 10, 4, [6]),
    embedding("embedding_rank2_seq_batch", 20, 5, [7, 3]),
    embedding("embedding_rank3", 8, 2, [2, 3, 4]),
    embedding("embedding_dim1", 4, 1, [5]),
    embedding("embedding_padding0", 10, 3, [2, 4], padding_idx=0, ids=[0, 3, 0, 9, 1, 0, 2, 0]),
    embedding("embedding_padding_positive", 6, 4, [5], padding_idx=3, ids=[3, 1, 3, 5, 0]),
    embedding("embedding_padding_negative", 6, 3, [4], padding_idx=-2, ids=[4, 5, 4, 0]),
    embedding("embedding_tutorial_hello", 2, 5, [1], ids=[0]),
    embedding("embedding_pretrained", 7, 3, [3, 2], from_pretrained=True),
    embedding("embedding_pretrained_unfrozen_padding", 5, 4, [4], padding_idx=1, from_pretrained=True,
              freeze=False, ids=[1, 0, 1, 4]),
    # ---- The second seed's RegLSTM: LSTM followed by nn.Sequential(nn.Linear(hidden_size, 1))
    reg_lstm("reglstm_2layer", 4, 6, 2, 5, 3),
    reg_lstm("reglstm_bidir_out2", 3, 4, 1, 4, 2, bidirectional=True, out_features=2),
]


class RegLSTM(nn.Module):
    """The seed's model, written as the seed writes it (view to 2-D, Linear, view back)."""

    def __init__(self, input_size, hidden_size, num_layers, bidirectional, out_features, dtype):
        super().__init__()
        self.rnn = nn.LSTM(input_size, hidden_size, num_layers, bidirectional=bidirectional, dtype=dtype)
        features = hidden_size * (2 if bidirectional else 1)
        self.reg = nn.Sequential(nn.Linear(features, out_features, dtype=dtype))

    def forward(self, x):
        x, (ht, ct) = self.rnn(x)
        seq_len, batch_size, hidden_size = x.shape
        x = x.view(-1, hidden_size)
        x = self.reg(x)
        x = x.view(seq_len, batch_size, -1)
        return x


def build_case(case, dtype):
    torch.manual_seed(seed_of(case["name"]))
    opts = case["options"]
    if case["module"] == "Linear":
        module = nn.Linear(opts["in_features"], opts["out_features"], bias=opts["bias"], dtype=dtype)
        text = repr(module)
        x = torch.randn(*case["x"], dtype=dtype)
        inputs = [("x", x)]
    elif case["module"] == "Embedding":
        padding_idx = None if opts["padding_idx"] == "none" else opts["padding_idx"]
        n, d = opts["num_embeddings"], opts["embedding_dim"]
        if opts["from_pretrained"]:
            weights = torch.randn(n, d, dtype=dtype)
            module = nn.Embedding.from_pretrained(weights, freeze=opts["freeze"], padding_idx=padding_idx)
            assert module.weight.requires_grad == (not opts["freeze"])
        else:
            assert opts["freeze"], "freeze only applies to from_pretrained"
            module = nn.Embedding(n, d, padding_idx=padding_idx, dtype=dtype)
        text = repr(module)
        if case["ids"] is not None:
            ids = torch.tensor(case["ids"], dtype=torch.long).reshape(case["ids_shape"])
        else:
            ids = torch.randint(0, n, case["ids_shape"], dtype=torch.long)
        inputs = [("ids", ids.to(torch.float64))]  # integers, exact as hex floats
        x = ids
    else:
        module = RegLSTM(opts["input_size"], opts["hidden_size"], opts["num_layers"], opts["bidirectional"],
                         opts["out_features"], dtype)
        text = repr(module.rnn) + " | " + repr(module.reg[0])
        x = torch.randn(*case["x"], dtype=dtype)
        inputs = [("x", x)]

    with torch.no_grad():
        y = module(x)
    assert y.dtype == dtype and torch.isfinite(y).all()

    lines = ["case " + case["name"], "module " + case["module"]]
    lines.append("options " + " ".join("%s=%s" % (k, option_value(v)) for k, v in opts.items()))
    lines.append("mode " + ("train" if module.training else "eval"))
    assert "\n" not in text
    lines.append("repr " + text)
    params = list(module.named_parameters())
    lines.append("params %d" % len(params))
    for name, p in params:
        assert p.dtype == dtype
        lines += tensor_lines("param", name, p)
    for name, t in inputs:
        lines += tensor_lines("input", name, t)
    lines += tensor_lines("output", "y", y)
    lines.append("end")
    return lines


def main():
    torch.set_num_threads(1)
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    assert hex_float(1.5) == "0x1.8p+0"
    os.makedirs(OUT_DIR, exist_ok=True)
    for dtype_name, dtype in DTYPES:
        lines = [
            "# seqnet golden cases for Linear, Embedding and RegLSTM from torch.nn; generated by",
            "# tools/gen_golden_layers.py -- do not edit by hand. Regenerate: /usr/bin/python3 tools/gen_golden_layers.py",
            "seqnet-golden 1",
            "dtype " + dtype_name,
            "torch " + torch.__version__,
            "cases %d" % len(CASES),
        ]
        for case in CASES:
            lines += build_case(case, dtype)
        path = os.path.join(OUT_DIR, "layers_%s.txt" % dtype_name)
        with open(path, "w", encoding="ascii", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
        print("wrote %d %s cases to %s (%d bytes)" % (len(CASES), dtype_name, os.path.relpath(path, ROOT),
                                                      os.path.getsize(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
