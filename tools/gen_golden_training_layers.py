#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates the golden data of seqnet's losses and of the Linear / Embedding backward passes from PyTorch
(values by torch.nn, gradients by torch.autograd).

Regenerate (from the repository root, with any PyTorch 2.x):

    python3 tools/gen_golden_training_layers.py

This rewrites tests/golden/losses_float64.txt, losses_float32.txt, training_layers_float64.txt and
training_layers_float32.txt in the format of tools/gen_golden.py (read by tests/golden_io.hpp), with
`params 0` for the losses. Every case seeds torch with its own seed (from its name) and torch runs
single-threaded, so the output is deterministic.

    module MSELoss|L1Loss|SmoothL1Loss|HuberLoss|CrossEntropyLoss|BCEWithLogitsLoss
        options reduction=none|mean|sum, and per loss: beta / delta (hex floats);
                ignore_index, label_smoothing (hex float), target=index|prob (CrossEntropyLoss)
        inputs  input, target (class indices written as hex floats), then the optional tensors
                weight, pos_weight, and for reduction=none grad_output (the upstream gradient)
        outputs loss (rank 0 for mean/sum; may be nan), grad_input (d loss / d input; for reduction=none
                the gradient of (loss * grad_output).sum())
    module Linear     options in_features out_features bias; params weight[, bias]; inputs x, grad_output;
                      outputs y, grad_input, grad_weight[, grad_bias]
    module Embedding  options num_embeddings embedding_dim padding_idx from_pretrained freeze; params weight;
                      inputs ids, grad_output; outputs y, and grad_weight unless the table is frozen
                      (PyTorch leaves its .grad None)

tests/test_losses.cpp and tests/test_linear_backward.cpp require at least LOSSES_MIN_CASES and
TRAINING_LAYERS_MIN_CASES cases; raise them when adding cases.
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
REDUCTIONS = ["none", "mean", "sum"]


def elementwise(module, shape, **options):
    """Cases of an element-wise loss for every reduction."""
    suffix = "_".join("%s%s" % (k, str(v).replace(".", "p").replace("-", "m")) for k, v in options.items())
    base = "%s_rank%d%s%s" % (module.lower(), len(shape), "_" + "x".join(map(str, shape)) if shape else "",
                             "_" + suffix if suffix else "")
    return [{"name": base + "_" + r, "module": module, "shape": shape, "options": dict(options, reduction=r)}
            for r in REDUCTIONS]


def cross_entropy(name, batch, classes, targets=None, weight=False, ignore_index=-100, label_smoothing=0.0,
                  prob=False, reductions=REDUCTIONS):
    """batch=None: unbatched input [C]. targets: explicit class indices (to hit ignore_index)."""
    return [{"name": name + "_" + r, "module": "CrossEntropyLoss", "batch": batch, "classes": classes,
             "targets": targets, "weight": weight,
             "options": {"reduction": r, "ignore_index": ignore_index, "label_smoothing": float(label_smoothing),
                         "target": "prob" if prob else "index"}} for r in reductions]


def bce(name, shape, weight=None, pos_weight=None):
    """weight / pos_weight: the size of the 1-D tensor (broadcast over the last dimension), or None."""
    return [{"name": name + "_" + r, "module": "BCEWithLogitsLoss", "shape": shape, "weight": weight,
             "pos_weight": pos_weight, "options": {"reduction": r}} for r in REDUCTIONS]


LOSS_CASES = (
    elementwise("MSELoss", [5]) + elementwise("MSELoss", [3, 4]) + elementwise("MSELoss", [2, 3, 2])
    + elementwise("MSELoss", [])
    + elementwise("L1Loss", [4, 3]) + elementwise("L1Loss", [6])
    + elementwise("SmoothL1Loss", [4, 5]) + elementwise("SmoothL1Loss", [4, 5], beta=0.5)
    + elementwise("SmoothL1Loss", [3, 4], beta=0.0) + elementwise("SmoothL1Loss", [2, 3, 4], beta=2.5)
    + elementwise("HuberLoss", [4, 5]) + elementwise("HuberLoss", [4, 5], delta=0.3)
    + elementwise("HuberLoss", [7], delta=2.0)
    + cross_entropy("ce_batched", 4, 5)
    + cross_entropy("ce_batch1", 1, 3)
    + cross_entropy("ce_unbatched", None, 6)
    + cross_entropy("ce_unbatched_ignored", None, 4, targets=2, ignore_index=2)
    + cross_entropy("ce_weight", 5, 4, weight=True)
    + cross_entropy("ce_ignore_default", 5, 3, targets=[0, -100, 2, 1, -100])
    + cross_entropy("ce_ignore_1", 6, 4, targets=[1, 0, 1, 3, 2, 1], ignore_index=1)
    + cross_entropy("ce_weight_ignore", 6, 4, targets=[3, 0, -100, 2, 2, -100], weight=True)
    + cross_entropy("ce_smoothing", 4, 5, label_smoothing=0.1)
    + cross_entropy("ce_smoothing_weight_ignore", 5, 4, targets=[2, 3, 3, 0, 1], weight=True, ignore_index=3,
                    label_smoothing=0.25)
    + cross_entropy("ce_smoothing_one", 3, 4, label_smoothing=1.0)
    + cross_entropy("ce_unbatched_smoothing_weight", None, 5, weight=True, label_smoothing=0.2)
    + cross_entropy("ce_all_ignored", 3, 4, targets=[-100, -100, -100], label_smoothing=0.1)
    + cross_entropy("ce_all_ignored_weight", 2, 3, targets=[0, 0], weight=True, ignore_index=0)
    + cross_entropy("ce_wide", 8, 40)
    + cross_entropy("ce_large_logits", 3, 4, targets=[0, 1, 3])  # logits scaled by 100 below
    + cross_entropy("ce_prob", 4, 5, prob=True)
    + cross_entropy("ce_prob_weight_smoothing", 3, 4, prob=True, weight=True, label_smoothing=0.15)
    + cross_entropy("ce_prob_unbatched", None, 6, prob=True)
    + bce("bce_rank2", [4, 3])
    + bce("bce_rank1", [5])
    + bce("bce_rank3_weight", [2, 3, 4], weight=4)
    + bce("bce_pos_weight", [5, 3], pos_weight=3)
    + bce("bce_weight_pos_weight", [4, 3], weight=3, pos_weight=3)
    + bce("bce_scalar_weights", [3, 2], weight=1, pos_weight=1)
    + bce("bce_large_logits", [3, 4])  # logits scaled by 50 below
)


def linear(name, in_features, out_features, x_shape, bias=True):
    return {"name": name, "module": "Linear", "x": x_shape,
            "options": {"in_features": in_features, "out_features": out_features, "bias": bias}}


def embedding(name, num_embeddings, embedding_dim, ids, padding_idx=None, from_pretrained=False, freeze=True):
    """ids: a nested list of ids (its shape is the ids' shape), or an int (rank 0)."""
    return {"name": name, "module": "Embedding", "ids": ids,
            "options": {"num_embeddings": num_embeddings, "embedding_dim": embedding_dim,
                        "padding_idx": "none" if padding_idx is None else padding_idx,
                        "from_pretrained": from_pretrained, "freeze": freeze}}


LAYER_CASES = [
    linear("linear_bw_rank1", 4, 3, [4]),
    linear("linear_bw_rank2", 5, 3, [6, 5]),
    linear("linear_bw_rank2_nobias", 7, 4, [3, 7], bias=False),
    linear("linear_bw_rank3", 6, 2, [4, 3, 6]),
    linear("linear_bw_rank4", 3, 5, [2, 2, 3, 3]),
    linear("linear_bw_out1", 16, 1, [30, 16]),
    linear("linear_bw_in1", 1, 4, [5, 1]),
    linear("linear_bw_wide", 64, 48, [10, 64]),
    embedding("embedding_bw_rank1", 6, 3, [1, 4, 1, 0, 5]),
    embedding("embedding_bw_rank2_repeats", 5, 4, [[0, 1, 1], [4, 1, 0]]),
    embedding("embedding_bw_rank0", 4, 2, 3),
    embedding("embedding_bw_rank3", 7, 2, [[[1, 2], [3, 1]], [[6, 6], [0, 5]]]),
    embedding("embedding_bw_padding0", 5, 3, [[0, 2, 0], [1, 0, 4]], padding_idx=0),
    embedding("embedding_bw_padding_negative", 6, 2, [5, 1, 5, 2], padding_idx=-1),
    embedding("embedding_bw_pretrained_frozen", 4, 3, [1, 2, 2], from_pretrained=True),
    embedding("embedding_bw_pretrained_unfrozen_padding", 5, 3, [2, 1, 2, 0], padding_idx=2,
              from_pretrained=True, freeze=False),
]


def loss_case(case, dtype):
    torch.manual_seed(seed_of(case["name"]))
    opts = case["options"]
    reduction = opts["reduction"]
    module_name = case["module"]
    extra = []  # optional input tensors, in the order they are written
    if module_name == "CrossEntropyLoss":
        batch, classes = case["batch"], case["classes"]
        shape = [classes] if batch is None else [batch, classes]
        x = torch.randn(*shape, dtype=dtype)
        if case["name"].startswith("ce_large_logits"):
            x = x * 100
        if opts["target"] == "prob":
            target = torch.randn(*shape, dtype=dtype).softmax(-1)
        elif case["targets"] is not None:
            target = torch.tensor(case["targets"], dtype=torch.long)
        else:
            target = torch.randint(0, classes, [] if batch is None else [batch], dtype=torch.long)
        weight = torch.rand(classes, dtype=dtype) + 0.5 if case["weight"] else None
        if weight is not None:
            extra.append(("weight", weight))
        module = nn.CrossEntropyLoss(weight=weight, ignore_index=opts["ignore_index"], reduction=reduction,
                                     label_smoothing=opts["label_smoothing"])
        target_written = target.to(torch.float64) if target.dtype == torch.long else target
    elif module_name == "BCEWithLogitsLoss":
        x = torch.randn(case["shape"], dtype=dtype)
        if case["name"].startswith("bce_large_logits"):
            x = x * 50
        target = torch.rand(case["shape"], dtype=dtype)
        if case["shape"]:
            # some hard 0/1 targets next to soft ones
            target.view(-1)[::3] = torch.round(target.view(-1)[::3])
        weight = torch.rand(case["weight"], dtype=dtype) + 0.5 if case["weight"] else None
        pos_weight = torch.rand(case["pos_weight"], dtype=dtype) * 3 if case["pos_weight"] else None
        for name, t in (("weight", weight), ("pos_weight", pos_weight)):
            if t is not None:
                extra.append((name, t))
        module = nn.BCEWithLogitsLoss(weight=weight, pos_weight=pos_weight, reduction=reduction)
        target_written = target
    else:
        x = torch.randn(case["shape"], dtype=dtype)
        target = torch.randn(case["shape"], dtype=dtype)
        if x.numel() > 2:
            target.view(-1)[1] = x.view(-1)[1]  # a zero difference: sign(0) = 0 in L1's gradient
        kwargs = {k: v for k, v in opts.items() if k != "reduction"}
        module = getattr(nn, module_name)(reduction=reduction, **kwargs)
        target_written = target
    x.requires_grad_(True)
    loss = module(x, target)
    assert loss.dtype == dtype
    if reduction == "none":
        grad_output = torch.randn(loss.shape, dtype=dtype)
        extra.append(("grad_output", grad_output))
        loss.backward(grad_output)
    else:
        assert loss.dim() == 0
        loss.backward()
    assert torch.isfinite(x.grad).all()
    if "ignored" not in case["name"]:  # every target ignored: the mean is 0/0
        assert torch.isfinite(loss).all(), case["name"]

    lines = ["case " + case["name"], "module " + module_name]
    lines.append("options " + " ".join("%s=%s" % (k, option_value(v)) for k, v in opts.items()))
    lines.append("mode train")
    lines.append("repr " + repr(module))
    lines.append("params 0")
    lines += tensor_lines("input", "input", x)
    lines += tensor_lines("input", "target", target_written)
    for name, t in extra:
        lines += tensor_lines("input", name, t)
    lines += tensor_lines("output", "loss", loss)
    lines += tensor_lines("output", "grad_input", x.grad)
    lines.append("end")
    return lines


def layer_case(case, dtype):
    torch.manual_seed(seed_of(case["name"]))
    opts = case["options"]
    if case["module"] == "Linear":
        module = nn.Linear(opts["in_features"], opts["out_features"], bias=opts["bias"], dtype=dtype)
        x = torch.randn(*case["x"], dtype=dtype, requires_grad=True)
        y = module(x)
        inputs = [("x", x)]
    else:
        padding_idx = None if opts["padding_idx"] == "none" else opts["padding_idx"]
        n, d = opts["num_embeddings"], opts["embedding_dim"]
        if opts["from_pretrained"]:
            module = nn.Embedding.from_pretrained(torch.randn(n, d, dtype=dtype), freeze=opts["freeze"],
                                                  padding_idx=padding_idx)
        else:
            module = nn.Embedding(n, d, padding_idx=padding_idx, dtype=dtype)
        ids = torch.tensor(case["ids"], dtype=torch.long)
        y = module(ids)
        inputs = [("ids", ids.to(torch.float64))]
    grad_output = torch.randn(y.shape, dtype=dtype)
    if y.requires_grad:  # not for a frozen table
        y.backward(grad_output)

    lines = ["case " + case["name"], "module " + case["module"]]
    lines.append("options " + " ".join("%s=%s" % (k, option_value(v)) for k, v in opts.items()))
    lines.append("mode train")
    lines.append("repr " + repr(module))
    params = list(module.named_parameters())
    lines.append("params %d" % len(params))
    for name, p in params:
        lines += tensor_lines("param", name, p)
    for name, t in inputs:
        lines += tensor_lines("input", name, t)
    lines += tensor_lines("input", "grad_output", grad_output)
    lines += tensor_lines("output", "y", y)
    if case["module"] == "Linear":
        lines += tensor_lines("output", "grad_input", x.grad)
    for name, p in params:
        if p.requires_grad:
            lines += tensor_lines("output", "grad_" + name, p.grad)
        else:
            assert p.grad is None
    lines.append("end")
    return lines


def write(prefix, cases, build, dtype_name, dtype, what):
    lines = [
        "# seqnet golden cases for %s from torch.nn and torch.autograd; generated by" % what,
        "# tools/gen_golden_training_layers.py -- do not edit by hand.",
        "seqnet-golden 1",
        "dtype " + dtype_name,
        "torch " + torch.__version__,
        "cases %d" % len(cases),
    ]
    for case in cases:
        lines += build(case, dtype)
    path = os.path.join(OUT_DIR, "%s_%s.txt" % (prefix, dtype_name))
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d %s cases to %s (%d bytes)" % (len(cases), dtype_name, os.path.relpath(path, ROOT),
                                                  os.path.getsize(path)))


def main():
    torch.set_num_threads(1)
    for cases in (LOSS_CASES, LAYER_CASES):
        names = [c["name"] for c in cases]
        assert len(names) == len(set(names)), "duplicate case names"
    assert hex_float(1.5) == "0x1.8p+0"
    os.makedirs(OUT_DIR, exist_ok=True)
    for dtype_name, dtype in DTYPES:
        write("losses", LOSS_CASES, loss_case, dtype_name, dtype, "the losses")
        write("training_layers", LAYER_CASES, layer_case, dtype_name, dtype, "Linear and Embedding backward")
    return 0


if __name__ == "__main__":
    sys.exit(main())
