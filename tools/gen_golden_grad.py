#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates the golden gradients of seqnet's recurrent modules and cells from torch.autograd.

Regenerate (from the repository root, with PyTorch 2.x from PyPI, e.g. in a venv):

    python tools/gen_golden_grad.py

This rewrites tests/golden/grad_float64.txt and tests/golden/grad_float32.txt (and grad_dropout_*.txt: six
stacked modules in training mode with dropout between layers, PyTorch's masks recovered and written as inputs
mask0, mask1, ... for seqnet to replay; see grad_case). It takes the forward cases of
tools/gen_golden.py (every option: cells, layers, directions, batch_first, unbatched, bias, ReLU, proj_size,
packed sequences sorted and unsorted, h0/c0 given or omitted, eval-mode dropout), builds each module and its
inputs exactly as that script does (same seeds), then draws the gradients arriving at the results (one more
seeded draw) and runs torch.autograd on

    loss = sum(out * g_out) + sum(h_n * g_h_n) [+ sum(c_n * g_c_n)]      (cells: h1, c1)

in the file format of tools/gen_golden.py (tests/golden_io.hpp reads it), with these additions per case:

    input g_out|g_h_n|g_c_n|g_h1|g_c1 ...   the arriving gradients (after x, h0, c0)
    output grad_x, grad_h0, grad_c0          the gradients at the inputs (states only when the case passes them)
    output grad.<parameter name>             the gradient of every parameter, in named_parameters() order

For packed cases g_out is non-zero at the padded positions too: their outputs are constant zeros in PyTorch,
so nothing flows from there, and seqnet must ignore them as well. fp64 runs on PyTorch's native CPU path
(deterministic); torch runs single-threaded. tests/test_backward.cpp requires at least GRAD_MIN_CASES cases.
"""

import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_golden as g  # noqa: E402

ROOT = g.ROOT
OUT_DIR = g.OUT_DIR


def grad_case(case, dtype):
    torch.manual_seed(g.seed_of(case["name"]))
    opts = dict(case["options"])
    input_size = opts.pop("input_size")
    hidden_size = opts.pop("hidden_size")
    module = getattr(nn, case["module"])(input_size, hidden_size, dtype=dtype, **opts)
    if case.get("eval", False):
        module.eval()
    is_cell = case["seq"] is None
    is_lstm = case["module"] in ("LSTM", "LSTMCell")
    batch = case["batch"]
    if is_cell:
        x_shape = [batch, input_size] if batch is not None else [input_size]
        h_shape = c_shape = x_shape[:-1] + [hidden_size]
    else:
        seq = case["seq"]
        stack = opts["num_layers"] * (2 if opts["bidirectional"] else 1)
        h_out = opts.get("proj_size", 0) or hidden_size
        if batch is None:
            x_shape, h_shape, c_shape = [seq, input_size], [stack, h_out], [stack, hidden_size]
        else:
            x_shape = [batch, seq, input_size] if opts["batch_first"] else [seq, batch, input_size]
            h_shape, c_shape = [stack, batch, h_out], [stack, batch, hidden_size]
    # The same draws, in the same order, as gen_golden.build_case.
    x = torch.randn(*x_shape, dtype=dtype)
    inputs = [("x", x)]
    if case["state"]:
        inputs.append(("h0", torch.randn(*h_shape, dtype=dtype)))
        if is_lstm:
            inputs.append(("c0", torch.randn(*c_shape, dtype=dtype)))
    for _, t in inputs:
        t.requires_grad_(True)
    state = dict(inputs)
    hidden_in = None
    if case["state"]:
        hidden_in = (state["h0"], state["c0"]) if is_lstm else state["h0"]

    packed = case.get("lengths")
    if packed is not None:
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
        x_in = pack_padded_sequence(x, torch.tensor(packed), batch_first=opts["batch_first"],
                                    enforce_sorted=case["enforce_sorted"])
    else:
        x_in = x
    masks = []
    if case.get("replay_dropout"):
        # Training-mode dropout between layers. PyTorch's native CPU path draws each mask as
        # empty_like(layer_output).bernoulli_(1 - p) / (1 - p) on the [seq, batch, D * H_out] output (seq
        # first even for batch_first; unbatched as batch 1), layer after layer, nothing else drawing in
        # between: re-seeding and drawing the same shapes recovers PyTorch's masks exactly.
        mask_seed = g.seed_of(case["name"] + "/dropout")
        torch.manual_seed(mask_seed)
        result = module(x_in) if hidden_in is None else module(x_in, hidden_in)
        torch.manual_seed(mask_seed)
        p = opts["dropout"]
        width = (2 if opts["bidirectional"] else 1) * h_out
        for _ in range(opts["num_layers"] - 1):
            noise = torch.empty(seq, batch or 1, width, dtype=dtype).bernoulli_(1 - p)
            noise.div_(1 - p)
            if batch is None:
                noise = noise[:, 0, :]
            elif opts["batch_first"]:
                noise = noise.transpose(0, 1)
            masks.append(noise.contiguous())
    else:
        result = module(x_in) if hidden_in is None else module(x_in, hidden_in)
    if is_cell:
        outputs = [("h1", result[0]), ("c1", result[1])] if is_lstm else [("h1", result)]
    else:
        out, hidden = result
        if packed is not None:
            out, _ = pad_packed_sequence(out, batch_first=opts["batch_first"], total_length=case["seq"])
        outputs = [("out", out)] + ([("h_n", hidden[0]), ("c_n", hidden[1])] if is_lstm else [("h_n", hidden)])

    arriving = [("g_" + name, torch.randn(*t.shape, dtype=dtype)) for name, t in outputs]
    loss = sum((t * w).sum() for (_, t), (_, w) in zip(outputs, arriving))
    params = list(module.named_parameters())
    loss.backward()

    lines = ["case " + case["name"], "module " + case["module"]]
    lines.append("options " + " ".join("%s=%s" % (k, g.option_value(v)) for k, v in case["options"].items()))
    lines.append("mode " + ("train" if module.training else "eval"))
    lines.append("repr " + repr(module))
    lines.append("params %d" % len(params))
    for name, p in params:
        lines += g.tensor_lines("param", name, p)
    if packed is not None:
        lines.append("lengths enforce_sorted=%d %s" % (int(case["enforce_sorted"]), " ".join(str(n) for n in packed)))
    for name, t in inputs + arriving + [("mask%d" % i, m) for i, m in enumerate(masks)]:
        lines += g.tensor_lines("input", name, t)
    for name, t in outputs:
        lines += g.tensor_lines("output", name, t)
    for name, t in inputs:
        lines += g.tensor_lines("output", "grad_" + name, t.grad)
    for name, p in params:
        lines += g.tensor_lines("output", "grad." + name, p.grad)
    lines.append("end")
    return lines


def replay_case(*args, **kwargs):
    case = g.stacked(*args, eval_mode=False, **kwargs)
    case["replay_dropout"] = True
    return case


DROPOUT_CASES = [
    replay_case("rnn_dropout_replay_3layer_state", "RNN", 3, 4, 5, 2, True, num_layers=3, dropout=0.5),
    replay_case("rnn_relu_dropout_replay_bidir_2layer", "RNN", 3, 4, 4, 3, False, num_layers=2, dropout=0.3,
                bidirectional=True, nonlinearity="relu"),
    replay_case("lstm_dropout_replay_bidir_2layer_batch_first", "LSTM", 3, 5, 4, 2, False, num_layers=2,
                dropout=0.3, bidirectional=True, batch_first=True),
    replay_case("lstm_dropout_replay_proj_3layer_state", "LSTM", 4, 5, 3, 2, True, num_layers=3, dropout=0.4,
                proj_size=2),
    replay_case("gru_dropout_replay_unbatched_bidir_3layer_state", "GRU", 3, 4, 5, None, True, num_layers=3,
                dropout=0.5, bidirectional=True),
    replay_case("gru_dropout_replay_batch_first_2layer", "GRU", 2, 6, 4, 3, False, num_layers=2, dropout=0.2,
                batch_first=True),
]


def write_cases(file_name, comments, cases, dtype_name, dtype):
    lines = comments + ["seqnet-golden 1", "dtype " + dtype_name, "torch " + torch.__version__, "cases %d" % len(cases)]
    for case in cases:
        lines += grad_case(case, dtype)
    path = os.path.join(OUT_DIR, file_name)
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d %s cases to %s (%d bytes)" % (len(cases), dtype_name, os.path.relpath(path, ROOT),
                                                  os.path.getsize(path)))


def main():
    torch.set_num_threads(1)
    # The forward cases' dropout runs in eval mode, as in gen_golden.py; DROPOUT_CASES run in training mode
    # with PyTorch's masks recovered. The tutorial case is left out to keep the file small (its shapes are covered).
    cases = [c for c in g.CASES if not c.get("quantize")]
    for dtype_name, dtype in g.DTYPES:
        write_cases("grad_%s.txt" % dtype_name, ["# seqnet golden gradients from torch.autograd; generated by "
                                                 "tools/gen_golden_grad.py -- do not edit."], cases, dtype_name, dtype)
        # Training-mode dropout with PyTorch's own masks, replayed in seqnet (RecurrentTape::replay_dropout_masks).
        write_cases("grad_dropout_%s.txt" % dtype_name,
                    ["# seqnet golden gradients with training-mode dropout (PyTorch's masks as inputs mask0, mask1, ...);",
                     "# generated by tools/gen_golden_grad.py -- do not edit."], DROPOUT_CASES, dtype_name, dtype)
    return 0


if __name__ == "__main__":
    sys.exit(main())
