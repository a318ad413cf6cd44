#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates seqnet's golden test data from PyTorch's torch.nn recurrent modules.

Regenerate (from the repository root, with Debian's PyTorch):

    /usr/bin/python3 tools/gen_golden.py

This rewrites tests/golden/golden_float64.txt and tests/golden/golden_float32.txt and prints how many
cases it wrote. The output is deterministic: every case seeds torch with its own fixed seed (derived from
the case name, so adding a case does not change the others) and torch runs single-threaded. Commit the
regenerated files together with any change to this script; tests/test_golden.cpp asserts a minimum case
count (GOLDEN_MIN_CASES there), so raise that when you add cases.

Each file is plain text that C++ reads without any library (tests/golden_io.hpp). Every number is a hex
float (Python's float.hex(), trailing zero hex digits trimmed), which std::strtod reads back exactly.
Layout, one record per line, `#` lines are comments:

    seqnet-golden 1
    dtype float64|float32
    torch <torch.__version__>
    cases <N>
    case <name>
    module RNN|LSTM|GRU|RNNCell|LSTMCell|GRUCell
    options <key>=<value> ...        (all constructor options; bools 0/1, dropout as a hex float)
    mode train|eval                  (eval when dropout > 0: dropout masks cannot be compared across RNGs)
    repr <repr(module), rest of the line>
    params <count>
    param <name> <rank> <dims...>    (in named_parameters() order; next line: the values, row-major)
    lengths enforce_sorted=<0|1> <l1> <l2> ...  (packed-sequence cases only: pack_padded_sequence(x, lengths,
                                     enforce_sorted=...), outputs padded back with total_length=seq)
    input <x|h0|c0> <rank> <dims...>  (next line: values; h0/c0 only when the case passes states)
    output <name> <rank> <dims...>   (out, h_n[, c_n] for RNN/LSTM; h1[, c1] for the cells)
    end
"""

import math
import os
import sys
import zlib

import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "golden")

DTYPES = [("float64", torch.float64), ("float32", torch.float32)]


# ---------------------------------------------------------------------------------------------------------
# Case list. Each case: name, module, constructor options, input shape and whether initial states are given.
# ---------------------------------------------------------------------------------------------------------

def cell(name, module, input_size, hidden_size, batch, state, bias=True, nonlinearity="tanh"):
    """batch=None means unbatched 1-D input."""
    opts = {"input_size": input_size, "hidden_size": hidden_size, "bias": bias}
    if module == "RNNCell":
        opts["nonlinearity"] = nonlinearity
    return {"name": name, "module": module, "options": opts, "batch": batch, "seq": None, "state": state}


def stacked(name, module, input_size, hidden_size, seq, batch, state, num_layers=1, bias=True,
            batch_first=False, dropout=0.0, bidirectional=False, nonlinearity="tanh", proj_size=0, eval_mode=None,
            lengths=None, enforce_sorted=True):
    """batch=None means unbatched 2-D input [seq, input_size]; lengths makes it a packed-sequence case."""
    opts = {"input_size": input_size, "hidden_size": hidden_size, "num_layers": num_layers}
    if module == "RNN":
        opts["nonlinearity"] = nonlinearity
    opts.update({"bias": bias, "batch_first": batch_first, "dropout": float(dropout),
                 "bidirectional": bidirectional})
    if module == "LSTM":
        opts["proj_size"] = proj_size
    if eval_mode is None:
        eval_mode = dropout > 0
    case = {"name": name, "module": module, "options": opts, "batch": batch, "seq": seq, "state": state,
            "eval": eval_mode}
    if lengths is not None:
        assert batch == len(lengths) and max(lengths) <= seq
        case["lengths"] = list(lengths)
        case["enforce_sorted"] = enforce_sorted
    return case


CASES = [
    # ---- RNNCell
    cell("rnncell_batched_state", "RNNCell", 3, 4, 2, True),
    cell("rnncell_batched_nostate", "RNNCell", 3, 4, 2, False),
    cell("rnncell_unbatched_state", "RNNCell", 3, 4, None, True),
    cell("rnncell_unbatched_nostate", "RNNCell", 3, 4, None, False),
    cell("rnncell_nobias", "RNNCell", 3, 4, 2, True, bias=False),
    cell("rnncell_relu", "RNNCell", 3, 4, 2, True, nonlinearity="relu"),
    cell("rnncell_relu_nobias_unbatched_nostate", "RNNCell", 3, 4, None, False, bias=False, nonlinearity="relu"),
    cell("rnncell_odd_13_7_batch1", "RNNCell", 13, 7, 1, True),
    cell("rnncell_relu_odd_13_7_batch1_nostate", "RNNCell", 13, 7, 1, False, nonlinearity="relu"),
    cell("rnncell_wide_6_10_batch3", "RNNCell", 6, 10, 3, True),
    # ---- LSTMCell
    cell("lstmcell_batched_state", "LSTMCell", 3, 4, 2, True),
    cell("lstmcell_batched_nostate", "LSTMCell", 3, 4, 2, False),
    cell("lstmcell_unbatched_state", "LSTMCell", 3, 4, None, True),
    cell("lstmcell_unbatched_nostate", "LSTMCell", 3, 4, None, False),
    cell("lstmcell_nobias", "LSTMCell", 3, 4, 2, True, bias=False),
    cell("lstmcell_nobias_unbatched_nostate", "LSTMCell", 3, 4, None, False, bias=False),
    cell("lstmcell_odd_13_7_batch1", "LSTMCell", 13, 7, 1, True),
    cell("lstmcell_odd_7_5_batch1_nostate", "LSTMCell", 7, 5, 1, False),
    # ---- GRUCell
    cell("grucell_batched_state", "GRUCell", 3, 4, 2, True),
    cell("grucell_batched_nostate", "GRUCell", 3, 4, 2, False),
    cell("grucell_unbatched_state", "GRUCell", 3, 4, None, True),
    cell("grucell_unbatched_nostate", "GRUCell", 3, 4, None, False),
    cell("grucell_nobias", "GRUCell", 3, 4, 2, True, bias=False),
    cell("grucell_nobias_unbatched_nostate", "GRUCell", 3, 4, None, False, bias=False),
    cell("grucell_odd_13_7_batch1", "GRUCell", 13, 7, 1, True),
    cell("grucell_wide_6_10_batch3", "GRUCell", 6, 10, 3, True),
    # ---- RNN
    stacked("rnn_1layer_state", "RNN", 3, 4, 3, 2, True),
    stacked("rnn_1layer_nostate", "RNN", 3, 4, 3, 2, False),
    stacked("rnn_3layer_state", "RNN", 3, 4, 3, 2, True, num_layers=3),
    stacked("rnn_3layer_nostate", "RNN", 3, 4, 3, 2, False, num_layers=3),
    stacked("rnn_bidir_1layer_state", "RNN", 3, 4, 3, 2, True, bidirectional=True),
    stacked("rnn_bidir_1layer_nostate", "RNN", 3, 4, 3, 2, False, bidirectional=True),
    stacked("rnn_bidir_2layer_state", "RNN", 3, 4, 3, 2, True, num_layers=2, bidirectional=True),
    stacked("rnn_bidir_3layer_nostate", "RNN", 3, 4, 3, 2, False, num_layers=3, bidirectional=True),
    stacked("rnn_batch_first_2layer_state", "RNN", 3, 4, 3, 2, True, num_layers=2, batch_first=True),
    stacked("rnn_batch_first_bidir_2layer_nostate", "RNN", 3, 4, 3, 2, False, num_layers=2, batch_first=True,
            bidirectional=True),
    stacked("rnn_nobias_state", "RNN", 3, 4, 3, 2, True, bias=False),
    stacked("rnn_nobias_bidir_2layer_nostate", "RNN", 3, 4, 3, 2, False, num_layers=2, bias=False,
            bidirectional=True),
    stacked("rnn_relu_2layer_state", "RNN", 3, 4, 3, 2, True, num_layers=2, nonlinearity="relu"),
    stacked("rnn_relu_bidir_nobias_batch_first_nostate", "RNN", 3, 4, 3, 2, False, bias=False,
            bidirectional=True, batch_first=True, nonlinearity="relu"),
    stacked("rnn_seq1_state", "RNN", 3, 4, 1, 2, True, num_layers=2),
    stacked("rnn_seq1_bidir_nostate", "RNN", 3, 4, 1, 2, False, bidirectional=True),
    stacked("rnn_batch1_state", "RNN", 3, 4, 3, 1, True, num_layers=2),
    stacked("rnn_batch1_bidir_batch_first_nostate", "RNN", 3, 4, 3, 1, False, bidirectional=True,
            batch_first=True),
    stacked("rnn_odd_13_7_2layer_state", "RNN", 13, 7, 3, 2, True, num_layers=2),
    stacked("rnn_wide_6_10_state", "RNN", 6, 10, 3, 3, True),
    stacked("rnn_unbatched_state", "RNN", 3, 4, 3, None, True, num_layers=2),
    stacked("rnn_unbatched_nostate", "RNN", 3, 4, 3, None, False),
    stacked("rnn_unbatched_bidir_2layer_state", "RNN", 3, 4, 3, None, True, num_layers=2, bidirectional=True),
    stacked("rnn_unbatched_bidir_nostate", "RNN", 3, 4, 3, None, False, bidirectional=True),
    stacked("rnn_unbatched_batch_first_ignored_state", "RNN", 3, 4, 3, None, True, batch_first=True),
    stacked("rnn_dropout_3layer_eval_state", "RNN", 3, 4, 3, 2, True, num_layers=3, dropout=0.5),
    stacked("rnn_dropout_bidir_2layer_eval_nostate", "RNN", 3, 4, 3, 2, False, num_layers=2, dropout=0.25,
            bidirectional=True),
    stacked("rnn_2layer_eval_nodropout_state", "RNN", 3, 4, 3, 2, True, num_layers=2, eval_mode=True),
    # ---- LSTM
    stacked("lstm_1layer_state", "LSTM", 3, 2, 3, 2, True),
    stacked("lstm_1layer_nostate", "LSTM", 3, 2, 3, 2, False),
    stacked("lstm_3layer_state", "LSTM", 3, 2, 3, 2, True, num_layers=3),
    stacked("lstm_3layer_nostate", "LSTM", 3, 2, 3, 2, False, num_layers=3),
    stacked("lstm_bidir_1layer_state", "LSTM", 3, 2, 3, 2, True, bidirectional=True),
    stacked("lstm_bidir_1layer_nostate", "LSTM", 3, 2, 3, 2, False, bidirectional=True),
    stacked("lstm_bidir_2layer_state", "LSTM", 3, 2, 3, 2, True, num_layers=2, bidirectional=True),
    stacked("lstm_bidir_3layer_nostate", "LSTM", 3, 2, 3, 2, False, num_layers=3, bidirectional=True),
    stacked("lstm_batch_first_2layer_state", "LSTM", 3, 2, 3, 2, True, num_layers=2, batch_first=True),
    stacked("lstm_batch_first_bidir_2layer_nostate", "LSTM", 3, 2, 3, 2, False, num_layers=2, batch_first=True,
            bidirectional=True),
    stacked("lstm_nobias_state", "LSTM", 3, 2, 3, 2, True, bias=False),
    stacked("lstm_nobias_bidir_2layer_nostate", "LSTM", 3, 2, 3, 2, False, num_layers=2, bias=False,
            bidirectional=True),
    stacked("lstm_seq1_state", "LSTM", 3, 2, 1, 2, True, num_layers=2),
    stacked("lstm_seq1_bidir_nostate", "LSTM", 3, 2, 1, 2, False, bidirectional=True),
    stacked("lstm_batch1_state", "LSTM", 3, 2, 3, 1, True, num_layers=2),
    stacked("lstm_batch1_bidir_batch_first_nostate", "LSTM", 3, 2, 3, 1, False, bidirectional=True,
            batch_first=True),
    stacked("lstm_odd_13_7_state", "LSTM", 13, 7, 3, 2, True),
    stacked("lstm_odd_7_5_bidir_nostate", "LSTM", 7, 5, 2, 2, False, bidirectional=True),
    stacked("lstm_unbatched_state", "LSTM", 3, 2, 3, None, True, num_layers=2),
    stacked("lstm_unbatched_nostate", "LSTM", 3, 2, 3, None, False),
    stacked("lstm_unbatched_bidir_2layer_state", "LSTM", 3, 2, 3, None, True, num_layers=2, bidirectional=True),
    stacked("lstm_unbatched_bidir_nostate", "LSTM", 3, 2, 3, None, False, bidirectional=True),
    stacked("lstm_unbatched_batch_first_ignored_state", "LSTM", 3, 2, 3, None, True, batch_first=True),
    stacked("lstm_dropout_3layer_eval_state", "LSTM", 3, 2, 3, 2, True, num_layers=3, dropout=0.5),
    stacked("lstm_dropout_bidir_2layer_eval_nostate", "LSTM", 3, 2, 3, 2, False, num_layers=2, dropout=0.25,
            bidirectional=True),
    stacked("lstm_2layer_eval_nodropout_state", "LSTM", 3, 2, 3, 2, True, num_layers=2, eval_mode=True),
    # LSTM with projections
    stacked("lstm_proj_1layer_state", "LSTM", 3, 3, 3, 2, True, proj_size=2),
    stacked("lstm_proj_1layer_nostate", "LSTM", 3, 3, 3, 2, False, proj_size=1),
    stacked("lstm_proj_bidir_state", "LSTM", 3, 3, 3, 2, True, proj_size=2, bidirectional=True),
    stacked("lstm_proj_bidir_nostate", "LSTM", 3, 3, 3, 2, False, proj_size=1, bidirectional=True),
    stacked("lstm_proj_3layer_state", "LSTM", 3, 3, 3, 2, True, proj_size=2, num_layers=3),
    stacked("lstm_proj_3layer_nostate", "LSTM", 3, 3, 3, 2, False, proj_size=1, num_layers=3),
    stacked("lstm_proj_bidir_2layer_batch_first_state", "LSTM", 3, 3, 3, 2, True, proj_size=2, num_layers=2,
            bidirectional=True, batch_first=True),
    stacked("lstm_proj_bidir_2layer_batch_first_nostate", "LSTM", 3, 3, 3, 2, False, proj_size=1, num_layers=2,
            bidirectional=True, batch_first=True),
    stacked("lstm_proj_nobias_2layer_state", "LSTM", 3, 3, 3, 2, True, proj_size=2, num_layers=2, bias=False),
    stacked("lstm_proj_odd_13_7_batch1_state", "LSTM", 13, 7, 2, 1, True, proj_size=5),
    stacked("lstm_proj_unbatched_state", "LSTM", 3, 3, 3, None, True, proj_size=2, num_layers=2),
    stacked("lstm_proj_unbatched_bidir_nostate", "LSTM", 3, 3, 3, None, False, proj_size=1, bidirectional=True),
    stacked("lstm_proj_dropout_bidir_2layer_eval_state", "LSTM", 3, 3, 3, 2, True, proj_size=2, num_layers=2,
            dropout=0.5, bidirectional=True),
    # ---- GRU
    stacked("gru_1layer_state", "GRU", 3, 4, 3, 2, True),
    stacked("gru_1layer_nostate", "GRU", 3, 4, 3, 2, False),
    stacked("gru_3layer_state", "GRU", 3, 4, 3, 2, True, num_layers=3),
    stacked("gru_bidir_1layer_nostate", "GRU", 3, 4, 3, 2, False, bidirectional=True),
    stacked("gru_bidir_2layer_state", "GRU", 3, 4, 3, 2, True, num_layers=2, bidirectional=True),
    stacked("gru_bidir_3layer_nostate", "GRU", 3, 4, 3, 2, False, num_layers=3, bidirectional=True),
    stacked("gru_batch_first_2layer_state", "GRU", 3, 4, 3, 2, True, num_layers=2, batch_first=True),
    stacked("gru_batch_first_bidir_2layer_nostate", "GRU", 3, 4, 3, 2, False, num_layers=2, batch_first=True,
            bidirectional=True),
    stacked("gru_nobias_state", "GRU", 3, 4, 3, 2, True, bias=False),
    stacked("gru_nobias_bidir_2layer_nostate", "GRU", 3, 4, 3, 2, False, num_layers=2, bias=False,
            bidirectional=True),
    stacked("gru_seq1_state", "GRU", 3, 4, 1, 2, True, num_layers=2),
    stacked("gru_batch1_bidir_batch_first_nostate", "GRU", 3, 4, 3, 1, False, bidirectional=True,
            batch_first=True),
    stacked("gru_odd_13_7_2layer_state", "GRU", 13, 7, 4, 3, True, num_layers=2),
    stacked("gru_unbatched_state", "GRU", 3, 4, 3, None, True, num_layers=2),
    stacked("gru_unbatched_bidir_nostate", "GRU", 3, 4, 3, None, False, bidirectional=True),
    stacked("gru_unbatched_batch_first_ignored_state", "GRU", 3, 4, 3, None, True, batch_first=True),
    stacked("gru_dropout_3layer_eval_state", "GRU", 3, 4, 3, 2, True, num_layers=3, dropout=0.5),
    stacked("gru_2layer_eval_nodropout_state", "GRU", 3, 4, 3, 2, True, num_layers=2, eval_mode=True),
    # ---- Packed sequences (pack_padded_sequence -> module -> pad_packed_sequence(total_length=seq))
    stacked("rnn_packed_sorted_state", "RNN", 3, 4, 5, 3, True, lengths=[5, 3, 2]),
    stacked("rnn_packed_unsorted_bidir_2layer_nostate", "RNN", 3, 4, 5, 4, False, num_layers=2, bidirectional=True,
            lengths=[2, 5, 1, 3], enforce_sorted=False),
    stacked("rnn_packed_relu_batch_first_bidir_state", "RNN", 3, 4, 4, 3, True, batch_first=True,
            bidirectional=True, nonlinearity="relu", lengths=[4, 4, 1]),
    stacked("lstm_packed_sorted_state", "LSTM", 3, 4, 5, 3, True, lengths=[5, 3, 2]),
    stacked("lstm_packed_sorted_bidir_2layer_nostate", "LSTM", 3, 4, 5, 3, False, num_layers=2, bidirectional=True,
            lengths=[5, 4, 2]),
    stacked("lstm_packed_unsorted_bidir_2layer_state", "LSTM", 3, 4, 6, 4, True, num_layers=2, bidirectional=True,
            lengths=[3, 6, 1, 4], enforce_sorted=False),
    stacked("lstm_packed_unsorted_batch_first_nostate", "LSTM", 3, 4, 5, 3, False, batch_first=True,
            lengths=[2, 5, 3], enforce_sorted=False),
    stacked("lstm_packed_unsorted_proj_bidir_state", "LSTM", 3, 4, 5, 3, True, proj_size=2, bidirectional=True,
            lengths=[1, 5, 3], enforce_sorted=False),
    stacked("lstm_packed_sorted_order_given_unsorted_flag", "LSTM", 3, 4, 4, 3, True, bidirectional=True,
            lengths=[4, 2, 2], enforce_sorted=False),
    stacked("lstm_packed_all_full_length", "LSTM", 3, 4, 4, 2, True, num_layers=2, lengths=[4, 4]),
    stacked("gru_packed_sorted_state", "GRU", 3, 4, 5, 3, True, lengths=[5, 3, 2]),
    stacked("gru_packed_unsorted_bidir_3layer_nostate", "GRU", 3, 4, 6, 5, False, num_layers=3, bidirectional=True,
            lengths=[2, 6, 1, 6, 3], enforce_sorted=False),
    stacked("gru_packed_unsorted_batch_first_bidir_state", "GRU", 3, 4, 5, 3, True, batch_first=True,
            bidirectional=True, lengths=[3, 1, 5], enforce_sorted=False),
    # The shapes of seqnet's tutorial / smoke test: LSTM(100, 20, 4) on input [10, 3, 100].
    # To keep the committed data small, its parameters are rounded to multiples of 2**-12 and its inputs to
    # multiples of 2**-10 before PyTorch runs it (short hex floats, exact in both dtypes; the outputs are
    # PyTorch's full-precision results for exactly those values). All other cases keep torch's full-precision draws.
    dict(stacked("lstm_tutorial_10x3x100_to_20_4layer_state", "LSTM", 100, 20, 10, 3, True, num_layers=4),
         quantize=True),
]


# ---------------------------------------------------------------------------------------------------------

def hex_float(value):
    """float.hex() with the trailing zero hex digits of the mantissa trimmed (still exact for strtod);
    nan, inf and -inf as those words (strtod reads them too)."""
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    text = float(value).hex()  # e.g. '-0x1.8000000000000p+0', '0x0.0p+0'
    mantissa, exponent = text.split("p")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return mantissa + "p" + exponent


def tensor_lines(kind, name, tensor):
    t = tensor.detach().contiguous()
    dims = list(t.shape)
    head = " ".join([kind, name, str(len(dims))] + [str(d) for d in dims])
    values = " ".join(hex_float(v) for v in t.reshape(-1).tolist())
    return [head, values]


def option_value(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return hex_float(value)
    return str(value)


def seed_of(name):
    return zlib.crc32(name.encode("utf-8"))


def build_case(case, dtype):
    torch.manual_seed(seed_of(case["name"]))
    module_type = getattr(nn, case["module"])
    opts = dict(case["options"])
    input_size = opts.pop("input_size")
    hidden_size = opts.pop("hidden_size")
    quantize = case.get("quantize", False)
    module = module_type(input_size, hidden_size, dtype=dtype, **opts)
    if quantize:
        with torch.no_grad():
            for p in module.parameters():
                p.copy_(torch.round(p * 2.0**12) / 2.0**12)
    if case.get("eval", False):
        module.eval()
    if case["options"].get("dropout", 0.0) > 0:
        assert not module.training, "dropout cases must run in eval mode"

    is_cell = case["seq"] is None
    is_lstm = case["module"] in ("LSTM", "LSTMCell")
    batch = case["batch"]
    if is_cell:
        x_shape = [batch, input_size] if batch is not None else [input_size]
        h_shape = [batch, hidden_size] if batch is not None else [hidden_size]
        c_shape = h_shape
    else:
        seq = case["seq"]
        directions = 2 if opts["bidirectional"] else 1
        stack = opts["num_layers"] * directions
        h_out = opts.get("proj_size", 0) or hidden_size
        if batch is None:
            x_shape = [seq, input_size]
            h_shape, c_shape = [stack, h_out], [stack, hidden_size]
        else:
            x_shape = [batch, seq, input_size] if opts["batch_first"] else [seq, batch, input_size]
            h_shape, c_shape = [stack, batch, h_out], [stack, batch, hidden_size]

    def draw(shape):
        t = torch.randn(*shape, dtype=dtype)
        return torch.round(t * 2.0**10) / 2.0**10 if quantize else t

    x = draw(x_shape)
    inputs = [("x", x)]
    if case["state"]:
        h0 = draw(h_shape)
        inputs.append(("h0", h0))
        if is_lstm:
            c0 = draw(c_shape)
            inputs.append(("c0", c0))
    # Non-finite and saturating cases (tools/gen_golden_nonfinite.py): (tensor, flat index, value), where
    # tensor is an input (x, h0, c0) or a parameter name.
    tensors = dict(inputs)
    tensors.update(dict(module.named_parameters()))
    with torch.no_grad():
        for name, index, value in case.get("inject", []):
            tensors[name].view(-1)[index] = value

    packed = case.get("lengths")
    with torch.no_grad():
        if packed is not None:
            from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
            x_packed = pack_padded_sequence(x, torch.tensor(packed), batch_first=opts["batch_first"],
                                            enforce_sorted=case["enforce_sorted"])
            if not case["state"]:
                out, hidden = module(x_packed)
            elif is_lstm:
                out, hidden = module(x_packed, (h0, c0))
            else:
                out, hidden = module(x_packed, h0)
            out, _ = pad_packed_sequence(out, batch_first=opts["batch_first"], total_length=case["seq"])
            outputs = [("out", out)]
            outputs += [("h_n", hidden[0]), ("c_n", hidden[1])] if is_lstm else [("h_n", hidden)]
        elif is_cell:
            if not case["state"]:
                result = module(x)
            elif is_lstm:
                result = module(x, (h0, c0))
            else:
                result = module(x, h0)
            outputs = [("h1", result[0]), ("c1", result[1])] if is_lstm else [("h1", result)]
        else:
            if not case["state"]:
                out, hidden = module(x)
            elif is_lstm:
                out, hidden = module(x, (h0, c0))
            else:
                out, hidden = module(x, h0)
            outputs = [("out", out)]
            outputs += [("h_n", hidden[0]), ("c_n", hidden[1])] if is_lstm else [("h_n", hidden)]

    for _, t in outputs:
        assert t.dtype == dtype and (torch.isfinite(t).all() or "inject" in case)

    lines = ["case " + case["name"], "module " + case["module"]]
    lines.append("options " + " ".join("%s=%s" % (k, option_value(v)) for k, v in case["options"].items()))
    lines.append("mode " + ("train" if module.training else "eval"))
    text = repr(module)
    assert "\n" not in text
    lines.append("repr " + text)
    params = list(module.named_parameters())
    lines.append("params %d" % len(params))
    for name, p in params:
        assert p.dtype == dtype
        lines += tensor_lines("param", name, p)
    if packed is not None:
        lines.append("lengths enforce_sorted=%d %s" % (int(case["enforce_sorted"]), " ".join(str(n) for n in packed)))
    for name, t in inputs:
        lines += tensor_lines("input", name, t)
    for name, t in outputs:
        lines += tensor_lines("output", name, t)
    lines.append("end")
    return lines


def main(cases=CASES, prefix="golden", script="tools/gen_golden.py"):
    torch.set_num_threads(1)
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    os.makedirs(OUT_DIR, exist_ok=True)
    total = 0
    for dtype_name, dtype in DTYPES:
        lines = [
            "# seqnet golden cases from torch.nn; generated by %s -- do not edit by hand." % script,
            "# Regenerate: /usr/bin/python3 %s" % script,
            "seqnet-golden 1",
            "dtype " + dtype_name,
            "torch " + torch.__version__,
            "cases %d" % len(cases),
        ]
        for case in cases:
            lines += build_case(case, dtype)
        path = os.path.join(OUT_DIR, "%s_%s.txt" % (prefix, dtype_name))
        with open(path, "w", encoding="ascii", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
        total += len(cases)
        print("wrote %d %s cases to %s (%d bytes)" % (len(cases), dtype_name, os.path.relpath(path, ROOT),
                                                      os.path.getsize(path)))
    print("wrote %d cases in total" % total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
