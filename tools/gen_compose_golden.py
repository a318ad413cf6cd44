#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates the composite-model fixtures (tests/data/compose/) for tests/test_compose_golden.cpp: a
PyTorch model made of nested modules (Sequential inside Sequential, a user-defined child with an LSTMCell
and a Sequential head) and a registered buffer, whose whole state_dict the C++ model loads in one strict
call.

Regenerate (from the repository root):

    /work/torch-venv/bin/python tools/gen_compose_golden.py     # generated with PyTorch 2.x

Deterministic: seed 13, one thread. Commit the regenerated files with any change to this script.

    streaming_model.safetensors  the model's state_dict (F32, the model's own dtype), exported with
                                 tools/export_safetensors.py
    streaming_model_io.safetensors
        x    [20, 3, 6]  F64 input, one [3, 6] row block per step
        y64  [20, 3, 1]  fp64 forward (model.double()), step by step from zero states
        h64, c64 [3, 8]  its final LSTMCell states
        y32, h32, c32    the same from the fp32 model on x.float()
    streaming_model.txt          print(model), then the state_dict keys with their shapes, one per line
"""

import os
import sys

import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from export_safetensors import export  # noqa: E402

DATA_DIR = os.path.join(ROOT, "tests", "data", "compose")
STEPS, BATCH, FEATURES, HIDDEN = 20, 3, 6, 8


class Decoder(nn.Module):
    """An LSTMCell carried from step to step, then a Sequential head (the layout of Silero VAD's decoder)."""

    def __init__(self, hidden):
        super().__init__()
        self.rnn = nn.LSTMCell(hidden, hidden)
        self.decoder = nn.Sequential(nn.Dropout(0.1), nn.ReLU(), nn.Linear(hidden, 1), nn.Sigmoid())

    def forward(self, x, state):
        h, c = self.rnn(x, state)
        return self.decoder(h), (h, c)


class StreamingModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("input_scale", torch.rand(FEATURES) + 0.5)
        self.encoder = nn.Sequential(nn.Linear(FEATURES, 12), nn.Tanh(), nn.Sequential(nn.Linear(12, HIDDEN), nn.Tanh()))
        self.decoder = Decoder(HIDDEN)

    def forward(self, x, state):
        return self.decoder(self.encoder(x * self.input_scale), state)


def run(model, x):
    state = (torch.zeros(BATCH, HIDDEN, dtype=x.dtype), torch.zeros(BATCH, HIDDEN, dtype=x.dtype))
    ys = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            y, state = model(x[t], state)
            ys.append(y)
    return torch.stack(ys), state[0], state[1]


def main():
    torch.manual_seed(13)
    torch.set_num_threads(1)
    os.makedirs(DATA_DIR, exist_ok=True)
    model = StreamingModel().eval()
    x = torch.randn(STEPS, BATCH, FEATURES, dtype=torch.float64)

    y32, h32, c32 = run(model, x.float())
    model64 = StreamingModel().eval()
    model64.load_state_dict(model.state_dict())
    model64 = model64.double()
    y64, h64, c64 = run(model64, x)

    export(model, os.path.join(DATA_DIR, "streaming_model.safetensors"))
    export({"x": x, "y64": y64, "h64": h64, "c64": c64, "y32": y32, "h32": h32, "c32": c32},
           os.path.join(DATA_DIR, "streaming_model_io.safetensors"))
    with open(os.path.join(DATA_DIR, "streaming_model.txt"), "w") as f:
        f.write(repr(model) + "\n")
        for name, tensor in model.state_dict().items():
            f.write("%s %s\n" % (name, list(tensor.shape)))
    print(model)
    print(list(model.state_dict().keys()))


if __name__ == "__main__":
    main()
