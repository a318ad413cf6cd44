#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates the golden data of seqnet's convolutional front-end layers from PyTorch: Conv1d, the padding
modules and F.pad, MaxPool1d/AvgPool1d, the activations, LayerNorm, BatchNorm1d (eval) and the tensor glue
(narrow, cat, squeeze/unsqueeze, sqrt, abs, pow).

Regenerate (from the repository root):

    /work/torch-venv/bin/python tools/gen_golden_conv_layers.py

This rewrites tests/golden/conv_layers_float64.txt and conv_layers_float32.txt in the format of
tools/gen_golden.py (read by tests/golden_io.hpp). Each case names its module (the PyTorch class, or
"pad" / "op" for functions), its options (strings without spaces; a pair "l,r"), the parameters
(named_parameters() order; BatchNorm1d's running_mean and running_var follow as extra entries), the inputs
x (and x2 for cat) and the output y (BatchNorm1d in training mode: then running_mean and running_var after
the call). Parameters that PyTorch initialises to constants (LayerNorm,
BatchNorm1d) are redrawn at random, so a test fails when any weight is perturbed.

Every case seeds torch from its name and torch runs single-threaded, so the output is deterministic.
tests/test_layers_*.cpp require at least CONV_LAYERS_MIN_CASES cases (tests/conv_layers_golden.hpp).
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import hex_float, option_value, seed_of, tensor_lines  # noqa: E402  (shared number format)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "golden")
DTYPES = [("float64", torch.float64), ("float32", torch.float32)]


def case(name, module, x, **options):
    return {"name": name, "module": module, "x": x, "options": options}


def conv(name, x, cin, cout, k, **kw):
    opts = dict(in_channels=cin, out_channels=cout, kernel_size=k, stride=1, padding=0, dilation=1, groups=1,
                bias=True, padding_mode="zeros")
    opts.update(kw)
    return case(name, "Conv1d", x, **opts)


CASES = [
    # ---- Conv1d
    conv("conv_basic", [2, 4, 10], 4, 8, 3),
    conv("conv_stride2_pad1", [2, 4, 11], 4, 8, 3, stride=2, padding=1),
    conv("conv_unbatched_pad2", [4, 9], 4, 6, 3, padding=2),
    conv("conv_same_odd", [2, 3, 12], 3, 5, 5, padding="same"),
    conv("conv_same_even", [2, 3, 12], 3, 5, 4, padding="same"),
    conv("conv_same_even_dilation3", [1, 3, 15], 3, 4, 4, padding="same", dilation=3),
    conv("conv_same_short_input", [2, 3, 2], 3, 4, 7, padding="same"),
    conv("conv_valid", [2, 3, 12], 3, 5, 4, padding="valid"),
    conv("conv_reflect", [2, 4, 10], 4, 6, 3, padding=2, padding_mode="reflect"),
    conv("conv_reflect_same_even", [2, 4, 10], 4, 6, 4, padding="same", padding_mode="reflect"),
    conv("conv_replicate", [2, 4, 6], 4, 6, 3, padding=3, padding_mode="replicate"),
    conv("conv_circular", [2, 4, 7], 4, 6, 3, padding=2, padding_mode="circular"),
    conv("conv_circular_unbatched", [4, 5], 4, 3, 5, padding=5, padding_mode="circular"),
    conv("conv_dilation2", [2, 4, 16], 4, 6, 3, dilation=2, padding=1),
    conv("conv_groups2", [2, 4, 10], 4, 8, 3, groups=2, padding=1),
    conv("conv_depthwise", [2, 6, 10], 6, 6, 3, groups=6, padding=1, bias=False),
    conv("conv_groups3_stride3_nobias", [3, 6, 20], 6, 9, 4, groups=3, stride=3, bias=False),
    conv("conv_kernel1_head", [1, 32, 5], 32, 1, 1),
    conv("conv_kernel1_unbatched", [32, 3], 32, 4, 1, bias=False),
    conv("conv_wide", [2, 40, 50], 40, 48, 5, stride=2, padding=2),
    conv("conv_front_end", [1, 66, 8], 66, 32, 3, padding=1),
    conv("conv_l_out1", [2, 3, 5], 3, 4, 5),
    # ---- F.pad (last dimension, separate left/right)
    case("pad_constant_rank1", "pad", [7], pad="1,2", mode="constant", value=0.5),
    case("pad_constant_rank3", "pad", [2, 3, 5], pad="3,0", mode="constant", value=0.0),
    case("pad_constant_crop", "pad", [2, 3, 6], pad="-2,1", mode="constant", value=-1.5),
    case("pad_reflect_right", "pad", [2, 3, 5], pad="0,4", mode="reflect"),
    case("pad_reflect_unbatched", "pad", [3, 6], pad="2,1", mode="reflect"),
    case("pad_reflect_negative", "pad", [2, 3, 5], pad="-1,2", mode="reflect"),
    case("pad_replicate", "pad", [2, 3, 4], pad="3,2", mode="replicate"),
    case("pad_replicate_length1", "pad", [3, 1], pad="2,2", mode="replicate"),
    case("pad_circular", "pad", [2, 3, 5], pad="2,3", mode="circular"),
    case("pad_circular_full", "pad", [2, 2, 4], pad="4,4", mode="circular"),
    case("pad_circular_negative", "pad", [2, 3, 5], pad="-1,2", mode="circular"),
    # ---- padding modules
    case("constantpad1d", "ConstantPad1d", [2, 3, 5], padding="2,2", value=3.5),
    case("constantpad1d_pair", "ConstantPad1d", [3, 5], padding="1,2", value=0.0),
    case("zeropad1d", "ZeroPad1d", [2, 3, 5], padding="0,3"),
    case("reflectionpad1d", "ReflectionPad1d", [2, 3, 5], padding="2,2"),
    case("reflectionpad1d_pair_unbatched", "ReflectionPad1d", [3, 5], padding="1,3"),
    case("replicationpad1d", "ReplicationPad1d", [2, 3, 5], padding="2,4"),
    case("circularpad1d", "CircularPad1d", [2, 3, 5], padding="1,2"),
    # ---- pooling
    case("maxpool_k3", "MaxPool1d", [2, 4, 10], kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=False),
    case("maxpool_k3_s2_p1_d2_ceil", "MaxPool1d", [2, 4, 11], kernel_size=3, stride=2, padding=1, dilation=2,
         ceil_mode=True),
    case("maxpool_k2_s2_p1_ceil", "MaxPool1d", [2, 4, 5], kernel_size=2, stride=2, padding=1, dilation=1,
         ceil_mode=True),
    case("maxpool_unbatched", "MaxPool1d", [3, 9], kernel_size=4, stride=1, padding=2, dilation=1, ceil_mode=False),
    case("avgpool_k3", "AvgPool1d", [2, 4, 10], kernel_size=3, stride=3, padding=0, ceil_mode=False,
         count_include_pad=True),
    case("avgpool_k3_s2_p1_ceil_nopad", "AvgPool1d", [2, 4, 10], kernel_size=3, stride=2, padding=1, ceil_mode=True,
         count_include_pad=False),
    case("avgpool_k2_s2_p1_ceil", "AvgPool1d", [2, 4, 5], kernel_size=2, stride=2, padding=1, ceil_mode=True,
         count_include_pad=True),
    case("avgpool_k4_s3_p2_unbatched", "AvgPool1d", [3, 11], kernel_size=4, stride=3, padding=2, ceil_mode=False,
         count_include_pad=True),
    case("avgpool_k5_s2_p2_ceil_nopad", "AvgPool1d", [2, 3, 12], kernel_size=5, stride=2, padding=2, ceil_mode=True,
         count_include_pad=False),
    # ---- activations (modules; the functions are checked against the same data)
    case("relu", "ReLU", [2, 3, 7]),
    case("leakyrelu_default", "LeakyReLU", [2, 3, 7], negative_slope=0.01),
    case("leakyrelu_0.2", "LeakyReLU", [4, 9], negative_slope=0.2),
    case("sigmoid", "Sigmoid", [2, 3, 7]),
    case("tanh", "Tanh", [2, 3, 7]),
    case("gelu_none", "GELU", [2, 3, 7], approximate="none"),
    case("gelu_tanh", "GELU", [2, 3, 7], approximate="tanh"),
    case("silu", "SiLU", [2, 3, 7]),
    case("softmax_dim1", "Softmax", [2, 3, 7], dim=1),
    case("softmax_dim_last", "Softmax", [2, 3, 7], dim=-1),
    case("softmax_dim0_rank2", "Softmax", [4, 5], dim=0),
    case("logsoftmax_dim1", "LogSoftmax", [2, 3, 7], dim=1),
    case("logsoftmax_dim_last", "LogSoftmax", [2, 3, 7], dim=-1),
    case("logsoftmax_rank1", "LogSoftmax", [9], dim=0),
    # ---- normalisation
    case("layernorm_8", "LayerNorm", [2, 5, 8], normalized_shape="8", eps=1e-5, elementwise_affine=True, bias=True),
    case("layernorm_4x8", "LayerNorm", [3, 4, 8], normalized_shape="4,8", eps=1e-5, elementwise_affine=True,
         bias=True),
    case("layernorm_noaffine_eps", "LayerNorm", [6, 10], normalized_shape="10", eps=1e-3, elementwise_affine=False,
         bias=True),
    case("layernorm_nobias", "LayerNorm", [2, 3, 6], normalized_shape="6", eps=1e-5, elementwise_affine=True,
         bias=False),
    case("batchnorm_2d", "BatchNorm1d", [4, 6], num_features=6, eps=1e-5, affine=True),
    case("batchnorm_3d", "BatchNorm1d", [2, 6, 7], num_features=6, eps=1e-5, affine=True),
    case("batchnorm_3d_noaffine_eps", "BatchNorm1d", [3, 5, 4], num_features=5, eps=1e-3, affine=False),
    case("batchnorm_3d_train", "BatchNorm1d", [3, 4, 6], num_features=4, eps=1e-5, affine=True, train=True,
         momentum=0.1),
    case("batchnorm_2d_train_cumulative", "BatchNorm1d", [5, 3], num_features=3, eps=1e-5, affine=True, train=True,
         momentum="none"),
    # ---- tensor glue
    case("narrow_channels", "op", [2, 6, 5], op="narrow", dim=1, start=1, length=3),
    case("narrow_last_negative_start", "op", [2, 3, 8], op="narrow", dim=-1, start=-5, length=4),
    case("cat_channels", "op", [2, 3, 5], x2=[2, 4, 5], op="cat", dim=1),
    case("cat_last", "op", [2, 3, 5], x2=[2, 3, 2], op="cat", dim=-1),
    case("cat_first", "op", [2, 3, 5], x2=[1, 3, 5], op="cat", dim=0),
    case("squeeze_1", "op", [2, 1, 5], op="squeeze", dim=1),
    case("unsqueeze_0", "op", [3, 5], op="unsqueeze", dim=0),
    case("unsqueeze_last", "op", [3, 5], op="unsqueeze", dim=-1),
    case("sqrt", "op", [2, 3, 5], op="sqrt", positive=True),
    case("abs", "op", [2, 3, 5], op="abs"),
    case("pow_2", "op", [2, 3, 5], op="pow", exponent=2.0),
    case("pow_3", "op", [2, 3, 5], op="pow", exponent=3.0),
    case("pow_0.5", "op", [2, 3, 5], op="pow", exponent=0.5, positive=True),
    case("pow_1.7", "op", [2, 3, 5], op="pow", exponent=1.7, positive=True),
    case("pow_-1", "op", [2, 3, 5], op="pow", exponent=-1.0, positive=True),
]


def pair(text):
    left, right = text.split(",")
    return int(left), int(right)


def randomise(module, dtype):
    """Draws constant-initialised parameters (and BatchNorm's running statistics) at random."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, dtype=dtype))
        if isinstance(module, nn.BatchNorm1d):
            module.running_mean.copy_(torch.randn(module.running_mean.shape, dtype=dtype))
            module.running_var.copy_(torch.rand(module.running_var.shape, dtype=dtype) + 0.5)


def build_case(c, dtype):
    torch.manual_seed(seed_of(c["name"]))
    o = c["options"]
    kind = c["module"]
    x = torch.randn(*c["x"], dtype=dtype) * 2
    if o.get("positive"):
        x = x.abs() + 0.1
    inputs = [("x", x)]
    module, extra, after = None, [], []
    if kind == "Conv1d":
        module = nn.Conv1d(o["in_channels"], o["out_channels"], o["kernel_size"], stride=o["stride"],
                           padding=o["padding"], dilation=o["dilation"], groups=o["groups"], bias=o["bias"],
                           padding_mode=o["padding_mode"], dtype=dtype)
    elif kind == "pad":
        mode = o["mode"]
        y = F.pad(x, pair(o["pad"]), mode, o["value"]) if mode == "constant" else F.pad(x, pair(o["pad"]), mode)
    elif kind in ("ConstantPad1d",):
        module = nn.ConstantPad1d(pair(o["padding"]), o["value"])
    elif kind in ("ZeroPad1d", "ReflectionPad1d", "ReplicationPad1d", "CircularPad1d"):
        module = getattr(nn, kind)(pair(o["padding"]))
    elif kind == "MaxPool1d":
        module = nn.MaxPool1d(o["kernel_size"], o["stride"], o["padding"], o["dilation"], ceil_mode=o["ceil_mode"])
    elif kind == "AvgPool1d":
        module = nn.AvgPool1d(o["kernel_size"], o["stride"], o["padding"], ceil_mode=o["ceil_mode"],
                              count_include_pad=o["count_include_pad"])
    elif kind in ("ReLU", "Sigmoid", "Tanh", "SiLU"):
        module = getattr(nn, kind)()
    elif kind == "LeakyReLU":
        module = nn.LeakyReLU(o["negative_slope"])
    elif kind == "GELU":
        module = nn.GELU(o["approximate"])
    elif kind in ("Softmax", "LogSoftmax"):
        module = getattr(nn, kind)(dim=o["dim"])
    elif kind == "LayerNorm":
        shape = [int(v) for v in o["normalized_shape"].split(",")]
        module = nn.LayerNorm(shape, eps=o["eps"], elementwise_affine=o["elementwise_affine"], bias=o["bias"],
                              dtype=dtype)
        randomise(module, dtype)
    elif kind == "BatchNorm1d":
        momentum = o.get("momentum", 0.1)
        module = nn.BatchNorm1d(o["num_features"], eps=o["eps"], affine=o["affine"],
                                momentum=None if momentum == "none" else momentum, dtype=dtype)
        randomise(module, dtype)
        extra = [("running_mean", module.running_mean.clone()), ("running_var", module.running_var.clone())]
        if o.get("train"):
            # training mode: batch statistics, and the running statistics after the call as extra outputs
            with torch.no_grad():
                y = module(x)
            after = [("running_mean", module.running_mean.clone()), ("running_var", module.running_var.clone())]
        else:
            module.eval()
    elif kind == "op":
        op = o["op"]
        if op == "narrow":
            y = x.narrow(o["dim"], o["start"], o["length"])
        elif op == "cat":
            x2 = torch.randn(*o["x2"], dtype=dtype)
            inputs.append(("x2", x2))
            y = torch.cat([x, x2], dim=o["dim"])
        elif op == "squeeze":
            y = x.squeeze(o["dim"])
        elif op == "unsqueeze":
            y = x.unsqueeze(o["dim"])
        elif op == "sqrt":
            y = torch.sqrt(x)
        elif op == "abs":
            y = torch.abs(x)
        elif op == "pow":
            y = torch.pow(x, o["exponent"])
        else:
            raise ValueError(op)
    else:
        raise ValueError(kind)

    if module is not None:
        if not o.get("train"):
            with torch.no_grad():
                y = module(x)
        text = repr(module)
        training = module.training
        params = list(module.named_parameters()) + extra
    else:
        text = "-"
        training = False
        params = []
    assert y.dtype == dtype and torch.isfinite(y).all(), c["name"]

    options = {k: v for k, v in o.items() if k not in ("x2", "positive")}
    if kind == "BatchNorm1d":
        options.setdefault("train", False)
        options.setdefault("momentum", 0.1)
    lines = ["case " + c["name"], "module " + kind]
    lines.append("options " + " ".join("%s=%s" % (k, option_value(v)) for k, v in options.items()))
    lines.append("mode " + ("train" if training else "eval"))
    assert "\n" not in text
    lines.append("repr " + text)
    lines.append("params %d" % len(params))
    for name, p in params:
        assert p.dtype == dtype
        lines += tensor_lines("param", name, p)
    for name, t in inputs:
        lines += tensor_lines("input", name, t)
    lines += tensor_lines("output", "y", y)
    for name, t in after:
        lines += tensor_lines("output", name, t)
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
            "# seqnet golden cases for the convolutional front-end layers from torch.nn; generated by",
            "# tools/gen_golden_conv_layers.py -- do not edit by hand.",
            "seqnet-golden 1",
            "dtype " + dtype_name,
            "torch " + torch.__version__,
            "cases %d" % len(CASES),
        ]
        for c in CASES:
            lines += build_case(c, dtype)
        path = os.path.join(OUT_DIR, "conv_layers_%s.txt" % dtype_name)
        with open(path, "w", encoding="ascii", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
        print("wrote %d %s cases to %s (%d bytes)" % (len(CASES), dtype_name, os.path.relpath(path, ROOT),
                                                      os.path.getsize(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
