#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates seqnet's golden cases for NaN, infinite and saturating values from PyTorch's torch.nn.

Regenerate (from the repository root, with Debian's PyTorch):

    /usr/bin/python3 tools/gen_golden_nonfinite.py

This writes tests/golden/nonfinite_float64.txt and nonfinite_float32.txt in gen_golden.py's format; each
case draws its module and inputs as gen_golden.py does and then overwrites single elements of an input or
a parameter (its `inject` list: tensor, flat index, value) before PyTorch runs it. tests/test_golden.cpp
checks that seqnet's outputs are NaN exactly where PyTorch's are, infinite where PyTorch's are, and within
the usual tolerance elsewhere. The hidden sizes (8, 17) fill whole and partial AVX2 and AVX-512 vectors.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gen_golden  # noqa: E402
from gen_golden import cell, stacked  # noqa: E402

NAN, INF = float("nan"), float("inf")


def injected(case, *inject):
    # Quantized parameters and inputs (gen_golden.py's `quantize`) keep the committed files small.
    return dict(case, inject=list(inject), quantize=True)


# x of [seq, batch, input] = [4, 3, 5]: flat index (t * 3 + b) * 5 + i.
CASES = [
    # One NaN in the input: PyTorch's NaN reaches that sequence's later steps (and, bidirectional, its
    # earlier ones), and only them.
    injected(stacked("nan_x_lstm_8", "LSTM", 5, 8, 4, 3, False), ("x", 7, NAN)),
    injected(stacked("nan_x_lstm_17_bidir", "LSTM", 5, 17, 4, 3, True, bidirectional=True),
             ("x", 37, NAN)),
    injected(stacked("nan_x_lstm_proj", "LSTM", 5, 8, 4, 3, False, proj_size=3), ("x", 22, NAN)),
    injected(stacked("nan_x_gru_8", "GRU", 5, 8, 4, 3, False), ("x", 7, NAN)),
    injected(stacked("nan_x_gru_17_2layer_bidir", "GRU", 5, 17, 4, 3, False, num_layers=2, bidirectional=True),
             ("x", 37, NAN)),
    injected(stacked("nan_x_rnn_tanh_8", "RNN", 5, 8, 4, 3, False), ("x", 7, NAN)),
    injected(stacked("nan_x_rnn_relu_8", "RNN", 5, 8, 4, 3, False, nonlinearity="relu"), ("x", 7, NAN)),
    # A NaN weight or bias, and a NaN initial state.
    injected(stacked("nan_weight_hh_lstm_8", "LSTM", 5, 8, 4, 3, False), ("weight_hh_l0", 10, NAN)),
    injected(stacked("nan_weight_ih_gru_8", "GRU", 5, 8, 4, 3, False), ("weight_ih_l0", 3, NAN)),
    injected(stacked("nan_bias_hh_rnn_17", "RNN", 5, 17, 4, 3, False), ("bias_hh_l0", 4, NAN)),
    injected(stacked("nan_h0_lstm_8", "LSTM", 5, 8, 4, 3, True), ("h0", 17, NAN)),
    injected(stacked("nan_c0_lstm_8", "LSTM", 5, 8, 4, 3, True), ("c0", 5, NAN)),
    injected(cell("nan_x_lstmcell_8", "LSTMCell", 5, 8, 3, True), ("x", 6, NAN)),
    injected(cell("nan_h_grucell_17", "GRUCell", 5, 17, 3, True), ("h0", 20, NAN)),
    injected(cell("nan_x_rnncell_8", "RNNCell", 5, 8, 3, False), ("x", 0, NAN)),
    # Saturation: pre-activations of about +-1e4 must give gates of exactly 0, 1 or +-1, never NaN.
    injected(stacked("saturate_x_lstm_8", "LSTM", 5, 8, 4, 3, False),
             ("x", 0, 1e4), ("x", 6, -1e4), ("x", 22, 1e4), ("x", 23, -1e4), ("x", 59, 1e4)),
    injected(stacked("saturate_x_gru_17", "GRU", 5, 17, 4, 3, False),
             ("x", 0, -1e4), ("x", 6, 1e4), ("x", 22, -1e4), ("x", 23, 1e4), ("x", 59, -1e4)),
    injected(stacked("saturate_x_rnn_tanh_8", "RNN", 5, 8, 4, 3, False),
             ("x", 0, 1e4), ("x", 6, -1e4), ("x", 22, 1e4), ("x", 59, -1e4)),
    injected(stacked("saturate_bias_lstm_17", "LSTM", 5, 17, 4, 3, False),
             ("bias_ih_l0", 0, 1e4), ("bias_ih_l0", 18, -1e4), ("bias_ih_l0", 35, 1e4), ("bias_ih_l0", 60, -1e4)),
    # Infinite inputs: +-inf times each weight gives +-inf pre-activations (NaN where they meet).
    injected(stacked("inf_x_lstm_8", "LSTM", 5, 8, 4, 3, False), ("x", 7, INF), ("x", 33, -INF)),
    injected(stacked("inf_x_gru_8", "GRU", 5, 8, 4, 3, False), ("x", 7, -INF)),
    injected(stacked("inf_x_rnn_tanh_17", "RNN", 5, 17, 4, 3, False), ("x", 7, INF)),
]

if __name__ == "__main__":
    sys.exit(gen_golden.main(CASES, "nonfinite", "tools/gen_golden_nonfinite.py"))
