#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates the golden training trajectories (whole training loops in PyTorch) that seqnet must follow.

Regenerate (from the repository root, with any PyTorch 2.x and the safetensors package):

    /work/torch-venv/bin/python tools/gen_golden_training.py

This rewrites tests/golden/training_float64.txt (format of tools/gen_golden.py, read by tests/golden_io.hpp)
and tests/data/training/pretrained_reg_lstm.safetensors. Everything runs in float64 on PyTorch's native CPU
path, single-threaded, from fixed seeds, so the output is deterministic. Cases (tests/test_training_loops.cpp):

    module RegLSTM   the tutorial's model: rnn = nn.LSTM(4, 16, 2), reg = nn.Sequential(nn.Linear(16, 1))
                     applied to every step; MSE loss; full-sequence BPTT; Adam(lr) for `steps` steps on the
                     noisy seasonal series of examples/data/seasonal.csv (each step sees the four previous
                     months).
        params   the initial parameters (rnn.*, reg.0.*)
        input    x [S, 1, 4], y [S, 1, 1]
        output   loss [steps]: the loss before each step; then final.<param>: the parameters after the last

    module TBPTT     truncated backpropagation through time: a recurrent module (LSTM, GRU or RNN; option
                     `rnn`) then a Linear head on every step, trained chunk by chunk over one long sequence.
                     Per chunk: zero_grad, forward from the carried state, MSE, backward, optimizer step,
                     then the state is carried on detached (`h = h.detach()`): no gradient reaches the
                     previous chunk. The last chunk may be shorter. option `optimizer` Adam|SGD (SGD with
                     momentum 0.9).
        params   rnn.*, head.*;  input x [S, B, in], y [S, B, 1] (and h0, c0 when `h0=1`)
        output   loss [chunks], final.<param>, h_n (and c_n): the state carried out of the last chunk

    module Online    one-step online learning with a cell (LSTMCell or GRUCell; option `cell`) and a
                     Linear head: per sample, one cell step from the carried (detached) state, MSE,
                     backward, SGD step. Unbatched samples x [S, in], y [S, 1].
        output   loss [S], final.<param>, h_n (and c_n)

    module FineTune  a RegLSTM trained in PyTorch (40 Adam steps on the training months), saved with
                     safetensors.torch.save_file(model.state_dict()) to
                     tests/data/training/pretrained_reg_lstm.safetensors, then fine-tuned on the held-out
                     months with SGD(lr, momentum) for `steps` steps.
        params   none (seqnet loads the file);  input x, y (the fine-tuning data)
        output   loss [steps], final.<param>
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import option_value, seed_of, tensor_lines  # noqa: E402  (shared number format)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "golden", "training_float64.txt")
DATA_DIR = os.path.join(ROOT, "tests", "data", "training")
PRETRAINED = os.path.join(DATA_DIR, "pretrained_reg_lstm.safetensors")
DTYPE = torch.float64


class RegLSTM(nn.Module):
    """The tutorial's model, names and all (reg is an nn.Sequential, so its parameters are reg.0.*)."""

    def __init__(self, input_size=4, hidden_size=16, num_layers=2):
        super().__init__()
        self.rnn = nn.LSTM(input_size, hidden_size, num_layers)
        self.reg = nn.Sequential(nn.Linear(hidden_size, 1))

    def forward(self, x):
        x, _ = self.rnn(x)
        seq_len, batch_size, hidden_size = x.shape
        x = x.view(-1, hidden_size)
        x = self.reg(x)
        return x.view(seq_len, batch_size, -1)


def seasonal_windows(start, end):
    """x [S, 1, 4] (the four months before each step) and y [S, 1, 1] for months [start, end), scaled to
    [0, 1] by the whole series' range, as examples/train_reg_lstm.cpp does."""
    values = []
    with open(os.path.join(ROOT, "examples", "data", "seasonal.csv")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                values.append(float(line.split(",")[1]))
    lo, hi = min(values), max(values)
    values = [(v - lo) / (hi - lo) for v in values]
    x = torch.tensor([[values[t - 4:t]] for t in range(start, end)], dtype=DTYPE)
    y = torch.tensor([[[values[t]]] for t in range(start, end)], dtype=DTYPE)
    return x, y


def header(name, module, options, model):
    lines = ["case " + name, "module " + module,
             "options " + " ".join("%s=%s" % (k, option_value(v)) for k, v in options.items()),
             "mode train", "repr " + repr(model).replace("\n", " ")]
    return lines


def param_lines(named):
    lines = ["params %d" % len(named)]
    for n, p in named:
        lines += tensor_lines("param", n, p)
    return lines


def final_lines(model):
    lines = []
    for n, p in model.named_parameters():
        lines += tensor_lines("output", "final." + n, p)
    return lines


def reg_lstm_case(name, steps, lr):
    torch.manual_seed(seed_of(name))
    model = RegLSTM().to(DTYPE)
    x, y = seasonal_windows(4, 180)
    lines = header(name, "RegLSTM", {"steps": steps, "lr": lr}, model)
    lines += param_lines(list(model.named_parameters()))
    lines += tensor_lines("input", "x", x) + tensor_lines("input", "y", y)
    opt = torch.optim.Adam(model.parameters(), lr=lr, foreach=False)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    lines += tensor_lines("output", "loss", torch.tensor(losses, dtype=DTYPE))
    lines += final_lines(model)
    return lines + ["end"]


def tbptt_case(name, rnn, optimizer, seq, batch, chunk, input_size=3, hidden_size=8, num_layers=1, lr=0.01,
               given_h0=False):
    torch.manual_seed(seed_of(name))
    module = getattr(nn, rnn)(input_size, hidden_size, num_layers).to(DTYPE)
    head = nn.Linear(hidden_size, 1).to(DTYPE)
    x = torch.randn(seq, batch, input_size, dtype=DTYPE)
    # A target the model can partly learn: a smoothed function of the inputs so far.
    y = torch.tanh(torch.cumsum(x[:, :, :1] - 0.5 * x[:, :, 1:2], dim=0) * 0.3)
    lstm = rnn == "LSTM"
    state = None
    if given_h0:
        h0 = torch.randn(num_layers, batch, hidden_size, dtype=DTYPE)
        state = (h0, torch.randn(num_layers, batch, hidden_size, dtype=DTYPE)) if lstm else h0
    options = {"rnn": rnn, "optimizer": optimizer, "input_size": input_size, "hidden_size": hidden_size,
               "num_layers": num_layers, "chunk": chunk, "lr": lr, "h0": given_h0}
    lines = header(name, "TBPTT", options, module)
    named = [("rnn." + n, p) for n, p in module.named_parameters()]
    named += [("head." + n, p) for n, p in head.named_parameters()]
    lines += param_lines(named)
    lines += tensor_lines("input", "x", x) + tensor_lines("input", "y", y)
    if given_h0:
        lines += tensor_lines("input", "h0", state[0] if lstm else state)
        if lstm:
            lines += tensor_lines("input", "c0", state[1])
    params = [p for _, p in named]
    opt = (torch.optim.Adam(params, lr=lr, foreach=False) if optimizer == "Adam"
           else torch.optim.SGD(params, lr=lr, momentum=0.9, foreach=False))
    losses = []
    for start in range(0, seq, chunk):
        opt.zero_grad()
        out, state = module(x[start:start + chunk], state)
        loss = F.mse_loss(head(out), y[start:start + chunk])
        loss.backward()
        opt.step()
        losses.append(loss.item())
        state = tuple(s.detach() for s in state) if lstm else state.detach()  # truncate: carry values only
    lines += tensor_lines("output", "loss", torch.tensor(losses, dtype=DTYPE))
    for n, p in named:
        lines += tensor_lines("output", "final." + n, p)
    lines += tensor_lines("output", "h_n", state[0] if lstm else state)
    if lstm:
        lines += tensor_lines("output", "c_n", state[1])
    return lines + ["end"]


def online_case(name, cell, samples, input_size=3, hidden_size=6, lr=0.05):
    torch.manual_seed(seed_of(name))
    module = getattr(nn, cell)(input_size, hidden_size).to(DTYPE)
    head = nn.Linear(hidden_size, 1).to(DTYPE)
    x = torch.randn(samples, input_size, dtype=DTYPE)
    y = torch.tanh(torch.cumsum(x[:, :1] + 0.5 * x[:, 2:3], dim=0) * 0.3)
    options = {"cell": cell, "input_size": input_size, "hidden_size": hidden_size, "lr": lr}
    lines = header(name, "Online", options, module)
    named = [("cell." + n, p) for n, p in module.named_parameters()]
    named += [("head." + n, p) for n, p in head.named_parameters()]
    lines += param_lines(named)
    lines += tensor_lines("input", "x", x) + tensor_lines("input", "y", y)
    opt = torch.optim.SGD([p for _, p in named], lr=lr, momentum=0.5, foreach=False)
    lstm = cell == "LSTMCell"
    state = None
    losses = []
    for t in range(samples):
        opt.zero_grad()
        state = module(x[t], state)
        h = state[0] if lstm else state
        loss = F.mse_loss(head(h), y[t])
        loss.backward()
        opt.step()
        losses.append(loss.item())
        state = tuple(s.detach() for s in state) if lstm else state.detach()
    lines += tensor_lines("output", "loss", torch.tensor(losses, dtype=DTYPE))
    for n, p in named:
        lines += tensor_lines("output", "final." + n, p)
    lines += tensor_lines("output", "h_n", state[0] if lstm else state)
    if lstm:
        lines += tensor_lines("output", "c_n", state[1])
    return lines + ["end"]


def fine_tune_case(name, steps, lr):
    from safetensors.torch import save_file
    torch.manual_seed(seed_of(name))
    model = RegLSTM().to(DTYPE)
    x, y = seasonal_windows(4, 180)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, foreach=False)
    for _ in range(40):  # "trained in PyTorch"
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()
    os.makedirs(DATA_DIR, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, PRETRAINED, metadata={"format": "pt"})
    x, y = seasonal_windows(180, 240)
    lines = header(name, "FineTune", {"steps": steps, "lr": lr, "momentum": 0.9}, model)
    lines += param_lines([])
    lines += tensor_lines("input", "x", x) + tensor_lines("input", "y", y)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, foreach=False)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    lines += tensor_lines("output", "loss", torch.tensor(losses, dtype=DTYPE))
    lines += final_lines(model)
    return lines + ["end"]


def cases():
    return [
        reg_lstm_case("reg_lstm_adam_20_steps", steps=20, lr=0.01),
        tbptt_case("tbptt_lstm_adam", "LSTM", "Adam", seq=24, batch=2, chunk=6, num_layers=2),
        tbptt_case("tbptt_lstm_sgd_h0_uneven_chunks", "LSTM", "SGD", seq=23, batch=3, chunk=5, given_h0=True),
        tbptt_case("tbptt_gru_adam", "GRU", "Adam", seq=20, batch=2, chunk=4, num_layers=2),
        tbptt_case("tbptt_rnn_sgd_h0", "RNN", "SGD", seq=18, batch=2, chunk=6, given_h0=True),
        tbptt_case("tbptt_lstm_seq1_online", "LSTM", "SGD", seq=12, batch=1, chunk=1, lr=0.05),
        online_case("online_lstm_cell", "LSTMCell", samples=25),
        online_case("online_gru_cell", "GRUCell", samples=25),
        fine_tune_case("fine_tune_pretrained_reg_lstm", steps=10, lr=0.05),
    ]


def main():
    torch.set_num_threads(1)
    built = cases()
    lines = ["# seqnet golden training loops (PyTorch float64); generated by tools/gen_golden_training.py -- do",
             "# not edit by hand.", "seqnet-golden 1", "dtype float64", "torch " + torch.__version__,
             "cases %d" % len(built)]
    for case in built:
        lines += case
    with open(OUT, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d cases to %s (%d bytes) and %s" % (len(built), os.path.relpath(OUT, ROOT), os.path.getsize(OUT),
                                                    os.path.relpath(PRETRAINED, ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
