#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates the PyTorch -> safetensors -> seqnet round-trip fixtures (tests/data/interop/) and the
reg_lstm example's weights and expected output (examples/data/, examples/expected/reg_lstm.txt).

Regenerate (from the repository root, with Debian's PyTorch):

    /usr/bin/python3 tools/gen_interop_golden.py

Deterministic: fixed seeds, one thread. Commit the regenerated files with any change to this script.
Everything is written with tools/export_safetensors.py, the exporter users run, so the fixtures also
test it. Two models:

* RegLSTM, the seed's regression LSTM (nn.LSTM(4, 16, 2) -> nn.Sequential(nn.Linear(16, 1))), seed 2:
  reg_lstm_{f32,f64,f16,bf16}.safetensors hold its state_dict in each dtype (the F64/F16/BF16 files are
  the fp32 model converted by torch). reg_lstm_io.safetensors holds the input x [10, 3, 4] and
    y       fp32 model, fp32 x                      (for the F32 file)
    x64/y64 fp64 model (model.double()), fp64 x     (for the F64 file, compared to 1e-10)
    y_f16   fp32 forward of the model rounded to F16 (model.half().float()), for the F16 file
    y_bf16  the same for BF16
* GruClassifier, a text classifier (seed 3): Embedding(50, 8) -> GRU(8, 16, batch_first=True,
  bidirectional=True) -> Linear(32, 3) on the last time step's features. gru_classifier_{f32,f16}
  hold its state_dict; gru_classifier_io.safetensors the token ids [4, 7] (I64) and
    logits      fp32 model
    logits_f16  fp32 forward of the model rounded to F16
"""

import copy
import math
import os
import shutil
import sys

import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from export_safetensors import export, load  # noqa: E402

DATA_DIR = os.path.join(ROOT, "tests", "data", "interop")
EXAMPLE_DATA = os.path.join(ROOT, "examples", "data", "reg_lstm.safetensors")
EXAMPLE_EXPECTED = os.path.join(ROOT, "examples", "expected", "reg_lstm.txt")

input_size, hidden_size, hidden_num_layers = 4, 16, 2


class RegLSTM(nn.Module):
    """The seed's model, verbatim."""

    def __init__(self):
        super(RegLSTM, self).__init__()
        self.rnn = nn.LSTM(input_size, hidden_size, hidden_num_layers)
        self.reg = nn.Sequential(nn.Linear(hidden_size, 1))

    def forward(self, x):
        x, (ht, ct) = self.rnn(x)
        seq_len, batch_size, hidden_size = x.shape
        x = x.view(-1, hidden_size)
        x = self.reg(x)
        x = x.view(seq_len, batch_size, -1)
        return x


class GruClassifier(nn.Module):
    def __init__(self, vocab=50, embed=8, hidden=16, classes=3):
        super(GruClassifier, self).__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.gru = nn.GRU(embed, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, ids):
        out, h_n = self.gru(self.embedding(ids))
        return self.fc(out[:, -1, :])


def rounded(model, dtype):
    """The fp32 model with every parameter rounded to `dtype` (what loading that file into fp32 gives)."""
    return copy.deepcopy(model).to(dtype).float()


def example_input():
    """The example's input, a formula C++ evaluates to the same floats: x[t, b, i] = k / 60 - 1, k = 12t + 4b + i."""
    return (torch.arange(120, dtype=torch.float64).view(10, 3, 4) / 60.0 - 1.0).float()


def fmt(values):
    """Four decimals, as the example prints them; refuses values too close to a rounding boundary, where
    fp32 rounding differences between torch and seqnet could change the printed digit."""
    out = []
    for v in values:
        scaled = abs(v) * 1e4
        assert abs(scaled - math.floor(scaled) - 0.5) > 0.01, "value {} too close to a rounding boundary".format(v)
        assert abs(v) >= 5e-5, "value {} would print as +-0.0000".format(v)
        out.append("{:.4f}".format(v))
    return "[" + ", ".join(out) + "]"


def main():
    torch.set_num_threads(1)
    os.makedirs(DATA_DIR, exist_ok=True)
    path = lambda name: os.path.join(DATA_DIR, name)  # noqa: E731

    # ---- RegLSTM (seed 2)
    torch.manual_seed(2)
    reg = RegLSTM().eval()
    x = torch.randn(10, 3, input_size)
    with torch.no_grad():
        io = {
            "x": x,
            "y": reg(x),
            "x64": x.double(),
            "y64": copy.deepcopy(reg).double()(x.double()),
            "y_f16": rounded(reg, torch.float16)(x),
            "y_bf16": rounded(reg, torch.bfloat16)(x),
        }
    export(reg, path("reg_lstm_f32.safetensors"))
    export(reg, path("reg_lstm_f64.safetensors"), dtype=torch.float64)
    export(reg, path("reg_lstm_f16.safetensors"), dtype=torch.float16)
    export(reg, path("reg_lstm_bf16.safetensors"), dtype=torch.bfloat16)
    export(io, path("reg_lstm_io.safetensors"))

    # ---- GRU text classifier (seed 3)
    torch.manual_seed(3)
    clf = GruClassifier().eval()
    ids = torch.randint(0, 50, (4, 7), dtype=torch.int64)
    with torch.no_grad():
        io = {"ids": ids, "logits": clf(ids), "logits_f16": rounded(clf, torch.float16)(ids)}
    export(clf, path("gru_classifier_f32.safetensors"))
    export(clf, path("gru_classifier_f16.safetensors"), dtype=torch.float16)
    export(io, path("gru_classifier_io.safetensors"))

    # The exporter's files read back to the same tensors.
    for name, tensor in load(path("reg_lstm_f32.safetensors")).items():
        assert torch.equal(tensor, reg.state_dict()[name]), name
    assert torch.equal(load(path("gru_classifier_io.safetensors"))["ids"], ids)

    # ---- examples/reg_lstm.cpp: the same weights, a formula input, a few printed values
    os.makedirs(os.path.dirname(EXAMPLE_DATA), exist_ok=True)
    shutil.copyfile(path("reg_lstm_f32.safetensors"), EXAMPLE_DATA)
    with torch.no_grad():
        y = reg(example_input())
    lines = str(reg).split("\n") + [
        "load_safetensors: <All keys matched successfully>",
        "x: [10, 3, 4]",
        "y: [10, 3, 1]",
        "y[0, :, 0] = " + fmt(y[0, :, 0].tolist()),
        "y[-1, :, 0] = " + fmt(y[-1, :, 0].tolist()),
    ]
    with open(EXAMPLE_EXPECTED, "w") as f:
        f.write("\n".join(lines) + "\n")

    for name in sorted(os.listdir(DATA_DIR)):
        print("{:40s} {:6d} bytes".format(name, os.path.getsize(path(name))))
    print("torch", torch.__version__)


if __name__ == "__main__":
    main()
