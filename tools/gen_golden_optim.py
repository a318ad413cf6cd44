#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates the golden data of seqnet::optim (optimizers, gradient clipping, LR schedulers) from torch.optim.

Regenerate (from the repository root, with any PyTorch 2.x):

    python3 tools/gen_golden_optim.py

This rewrites tests/golden/optim_float64.txt and tests/golden/optim_float32.txt in the format of
tools/gen_golden.py (read by tests/golden_io.hpp), whose number formatting this script reuses. Every case
works on the same four parameters, two `nn.Linear` layers `a` (2 -> 3) and `b` (4 -> 5) -- `b.weight` has 20
elements, enough for torch's vectorised kernels to handle part of it -- with values drawn from the case's
seed. Records:

    module SGD|Adam|AdamW|RMSprop|Adagrad
        options  the optimizer's constructor options (bools 0/1, floats as hex floats, betas as beta1/beta2);
                 groups=<group>|<group>...  where a group is a comma list of `a`, `b` (all of the layer's
                 parameters) or `a.weight`...; g<k>.<option>=<value> overrides an option in group k;
                 steps=<n>; scheduler=none|StepLR|CosineAnnealingLR with step_size, gamma, T_max, eta_min
                 (the scheduler steps after every optimizer step)
        params   the initial values, in the optimizer's parameter order
        input    grad<k>.<param>: the gradient set before step k (k = 0..steps-1)
        output   step<k>.<param>: the parameter after step k; then the optimizer's state after the last
                 step as torch's state_dict() names it: state.<index>.<buffer> (and state.<index>.step)
    module clip_grad_norm_|clip_grad_value_
        options  max_norm, norm_type (2.0 or inf) | clip_value
        params   the parameters; input grad.<param>; output grad.<param> after clipping and, for
                 clip_grad_norm_, total_norm (rank 0)
    module StepLR|CosineAnnealingLR
        options  lr0, lr1 (two param groups of an SGD), step_size, gamma | T_max, eta_min; steps=<n>
        output   lr [n + 1, 2]: get_last_lr() after construction and after each scheduler step

All optimizers run their single-tensor algorithm (foreach=False), torch single-threaded, so the output is
deterministic. tests/test_optim.cpp requires at least OPTIM_MIN_CASES cases and a minimum per module; raise
them when adding cases.
"""

import math
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import hex_float, option_value, seed_of, tensor_lines  # noqa: E402  (shared number format)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "golden")
DTYPES = [("float64", torch.float64), ("float32", torch.float32)]
STEPS = 5
ALL = "a,b"
SPLIT_LAYERS = "a|b"
SPLIT_BIAS = "a.weight,b.weight|a.bias,b.bias"


def opt(name, module, groups=ALL, overrides=None, scheduler=None, steps=STEPS, **options):
    return {"name": name, "module": module, "groups": groups, "overrides": overrides or {}, "steps": steps,
            "scheduler": scheduler or {}, "options": options}


CASES = [
    # ---- SGD
    opt("sgd_plain", "SGD", lr=0.1),
    opt("sgd_momentum", "SGD", lr=0.05, momentum=0.9),
    opt("sgd_momentum_dampening", "SGD", lr=0.05, momentum=0.8, dampening=0.3),
    opt("sgd_nesterov_weight_decay", "SGD", lr=0.03, momentum=0.9, nesterov=True, weight_decay=0.01),
    opt("sgd_maximize_weight_decay", "SGD", lr=0.02, momentum=0.5, weight_decay=0.1, maximize=True),
    opt("sgd_two_groups", "SGD", groups=SPLIT_LAYERS, overrides={1: {"lr": 0.3, "momentum": 0.0}},
        lr=0.1, momentum=0.9),
    opt("sgd_groups_no_decay_on_bias", "SGD", groups=SPLIT_BIAS, overrides={1: {"weight_decay": 0.0}},
        lr=0.1, momentum=0.9, weight_decay=0.05),
    opt("sgd_steplr", "SGD", groups=SPLIT_LAYERS, overrides={1: {"lr": 0.2}}, steps=7,
        scheduler={"scheduler": "StepLR", "step_size": 2, "gamma": 0.5}, lr=0.1, momentum=0.9),
    # ---- Adam
    opt("adam_default", "Adam"),
    opt("adam_lr_betas_eps", "Adam", lr=0.01, betas=(0.8, 0.95), eps=1e-6),
    opt("adam_weight_decay", "Adam", lr=0.01, weight_decay=0.1),
    opt("adam_amsgrad", "Adam", lr=0.02, amsgrad=True, steps=8),
    opt("adam_maximize_amsgrad_weight_decay", "Adam", lr=0.01, amsgrad=True, maximize=True, weight_decay=0.05),
    opt("adam_two_groups", "Adam", groups=SPLIT_LAYERS,
        overrides={1: {"lr": 1e-4, "weight_decay": 0.01, "amsgrad": True}}, lr=1e-3),
    opt("adam_groups_betas", "Adam", groups=SPLIT_BIAS, overrides={0: {"betas": (0.5, 0.6)}, 1: {"eps": 1e-3}},
        lr=0.05),
    opt("adam_cosine", "Adam", steps=8, scheduler={"scheduler": "CosineAnnealingLR", "T_max": 3, "eta_min": 1e-4},
        lr=0.01),
    # ---- AdamW
    opt("adamw_default", "AdamW"),
    opt("adamw_weight_decay", "AdamW", lr=0.01, weight_decay=0.3, betas=(0.85, 0.99)),
    opt("adamw_amsgrad_maximize", "AdamW", lr=0.01, amsgrad=True, maximize=True, steps=8),
    opt("adamw_two_groups", "AdamW", groups=SPLIT_BIAS, overrides={1: {"weight_decay": 0.0, "lr": 0.02}}, lr=0.01),
    # ---- RMSprop
    opt("rmsprop_default", "RMSprop"),
    opt("rmsprop_alpha_eps", "RMSprop", lr=0.005, alpha=0.9, eps=1e-4),
    opt("rmsprop_momentum", "RMSprop", lr=0.01, momentum=0.9),
    opt("rmsprop_centered", "RMSprop", lr=0.01, centered=True),
    opt("rmsprop_centered_momentum_weight_decay", "RMSprop", lr=0.01, centered=True, momentum=0.5,
        weight_decay=0.1),
    opt("rmsprop_maximize", "RMSprop", lr=0.01, maximize=True, momentum=0.3),
    opt("rmsprop_two_groups", "RMSprop", groups=SPLIT_LAYERS, overrides={1: {"centered": True, "lr": 0.003}},
        lr=0.01, momentum=0.9),
    # ---- Adagrad
    opt("adagrad_default", "Adagrad"),
    opt("adagrad_lr_decay", "Adagrad", lr=0.1, lr_decay=0.05),
    opt("adagrad_initial_accumulator_eps", "Adagrad", lr=0.05, initial_accumulator_value=0.5, eps=1e-3),
    opt("adagrad_weight_decay_maximize", "Adagrad", lr=0.05, weight_decay=0.2, maximize=True),
    opt("adagrad_two_groups", "Adagrad", groups=SPLIT_BIAS,
        overrides={1: {"lr": 0.5, "initial_accumulator_value": 0.1, "lr_decay": 0.1}}, lr=0.05),
    # ---- clipping
    {"name": "clip_norm2_active", "module": "clip_grad_norm_", "options": {"max_norm": 1.0, "norm_type": 2.0}},
    {"name": "clip_norm2_inactive", "module": "clip_grad_norm_", "options": {"max_norm": 100.0, "norm_type": 2.0}},
    {"name": "clip_norm2_small", "module": "clip_grad_norm_", "options": {"max_norm": 0.25, "norm_type": 2.0}},
    {"name": "clip_norminf_active", "module": "clip_grad_norm_",
     "options": {"max_norm": 0.5, "norm_type": math.inf}},
    {"name": "clip_norminf_inactive", "module": "clip_grad_norm_",
     "options": {"max_norm": 10.0, "norm_type": math.inf}},
    {"name": "clip_value", "module": "clip_grad_value_", "options": {"clip_value": 0.5}},
    {"name": "clip_value_small", "module": "clip_grad_value_", "options": {"clip_value": 0.03}},
    # ---- schedulers
    {"name": "steplr_3_half", "module": "StepLR", "steps": 12,
     "options": {"lr0": 0.1, "lr1": 0.02, "step_size": 3, "gamma": 0.5}},
    {"name": "steplr_1_default_gamma", "module": "StepLR", "steps": 6,
     "options": {"lr0": 1.0, "lr1": 0.3, "step_size": 1, "gamma": 0.1}},
    {"name": "cosine_tmax10", "module": "CosineAnnealingLR", "steps": 25,
     "options": {"lr0": 0.1, "lr1": 0.01, "T_max": 10, "eta_min": 0.0}},
    {"name": "cosine_tmax4_eta_min", "module": "CosineAnnealingLR", "steps": 20,
     "options": {"lr0": 0.05, "lr1": 0.5, "T_max": 4, "eta_min": 0.001}},
    {"name": "cosine_tmax1", "module": "CosineAnnealingLR", "steps": 6,
     "options": {"lr0": 0.1, "lr1": 0.2, "T_max": 1, "eta_min": 0.01}},
]

OPTIMIZERS = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW,
              "RMSprop": torch.optim.RMSprop, "Adagrad": torch.optim.Adagrad}


def layers(dtype):
    """The two layers every case works on, named as the C++ test names them."""
    a = nn.Linear(2, 3, dtype=dtype)
    b = nn.Linear(4, 5, dtype=dtype)
    named = {"a.weight": a.weight, "a.bias": a.bias, "b.weight": b.weight, "b.bias": b.bias}
    return {"a": a, "b": b}, named


def group_params(spec, modules, named):
    """[[(name, tensor), ...] per group] for a groups= spec."""
    groups = []
    for group_spec in spec.split("|"):
        group = []
        for item in group_spec.split(","):
            if "." in item:
                group.append((item, named[item]))
            else:
                group += [(item + "." + n, p) for n, p in modules[item].named_parameters()]
        groups.append(group)
    return groups


def option_words(options):
    words = []
    for key, value in options.items():
        if key == "betas":
            words += ["beta1=" + option_value(float(value[0])), "beta2=" + option_value(float(value[1]))]
        else:
            words.append("%s=%s" % (key, option_value(value)))
    return words


def optimizer_case(case, dtype):
    torch.manual_seed(seed_of(case["name"]))
    modules, named = layers(dtype)
    groups = group_params(case["groups"], modules, named)
    params = [(n, p) for g in groups for n, p in g]
    torch_groups = []
    for k, g in enumerate(groups):
        entry = {"params": [p for _, p in g]}
        entry.update(case["overrides"].get(k, {}))
        torch_groups.append(entry)
    optimizer = OPTIMIZERS[case["module"]](torch_groups, foreach=False, **case["options"])
    sched = case["scheduler"]
    scheduler = None
    if sched.get("scheduler") == "StepLR":
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=sched["step_size"], gamma=sched["gamma"])
    elif sched.get("scheduler") == "CosineAnnealingLR":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=sched["T_max"],
                                                               eta_min=sched["eta_min"])

    words = option_words(case["options"]) + ["groups=" + case["groups"], "steps=%d" % case["steps"]]
    for k, overrides in sorted(case["overrides"].items()):
        words += ["g%d.%s" % (k, w) for w in option_words(overrides)]
    words.append("scheduler=" + sched.get("scheduler", "none"))
    words += ["%s=%s" % (k, option_value(v)) for k, v in sched.items() if k != "scheduler"]

    lines = ["case " + case["name"], "module " + case["module"], "options " + " ".join(words), "mode train",
             "repr " + " ".join(repr(optimizer).split())]
    lines.append("params %d" % len(params))
    for name, p in params:
        lines += tensor_lines("param", name, p)
    grads = []
    for k in range(case["steps"]):
        step_grads = {name: torch.randn(p.shape, dtype=dtype) for name, p in params}
        grads.append(step_grads)
        for name, g in step_grads.items():
            lines += tensor_lines("input", "grad%d.%s" % (k, name), g)
    outputs = []
    for k in range(case["steps"]):
        for name, p in params:
            p.grad = grads[k][name].clone()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        for name, p in params:
            assert torch.isfinite(p).all()
            outputs += tensor_lines("output", "step%d.%s" % (k, name), p)
    state = optimizer.state_dict()["state"]
    for index in sorted(state):
        for key, value in state[index].items():
            if value is None:
                continue
            if not isinstance(value, torch.Tensor):
                value = torch.tensor(float(value), dtype=torch.float64)
            outputs += tensor_lines("output", "state.%d.%s" % (index, key), value)
    lines += outputs
    lines.append("end")
    return lines


def clip_case(case, dtype):
    torch.manual_seed(seed_of(case["name"]))
    modules, named = layers(dtype)
    params = list(named.items())
    lines = ["case " + case["name"], "module " + case["module"],
             "options " + " ".join(option_words(case["options"])), "mode train", "repr " + case["module"]]
    lines.append("params %d" % len(params))
    for name, p in params:
        lines += tensor_lines("param", name, p)
    for name, p in params:
        p.grad = torch.randn(p.shape, dtype=dtype) * 0.7
        lines += tensor_lines("input", "grad." + name, p.grad)
    opts = case["options"]
    total = None
    if case["module"] == "clip_grad_norm_":
        total = torch.nn.utils.clip_grad_norm_([p for _, p in params], opts["max_norm"], opts["norm_type"],
                                               foreach=False)
    else:
        torch.nn.utils.clip_grad_value_([p for _, p in params], opts["clip_value"], foreach=False)
    for name, p in params:
        lines += tensor_lines("output", "grad." + name, p.grad)
    if total is not None:
        assert total.dtype == dtype
        lines += tensor_lines("output", "total_norm", total)
    lines.append("end")
    return lines


def scheduler_case(case, dtype):
    opts = case["options"]
    p0 = torch.zeros(1, dtype=dtype, requires_grad=True)
    p1 = torch.zeros(1, dtype=dtype, requires_grad=True)
    optimizer = torch.optim.SGD([{"params": [p0], "lr": opts["lr0"]}, {"params": [p1], "lr": opts["lr1"]}])
    if case["module"] == "StepLR":
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=opts["step_size"], gamma=opts["gamma"])
    else:
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=opts["T_max"],
                                                               eta_min=opts["eta_min"])
    lrs = [list(scheduler.get_last_lr())]
    for _ in range(case["steps"]):
        optimizer.step()  # no gradients: a no-op that keeps the scheduler from warning about the call order
        scheduler.step()
        lrs.append(list(scheduler.get_last_lr()))
    lines = ["case " + case["name"], "module " + case["module"],
             "options " + " ".join(option_words(opts) + ["steps=%d" % case["steps"]]), "mode train",
             "repr " + case["module"], "params 0"]
    lines += tensor_lines("output", "lr", torch.tensor(lrs, dtype=torch.float64))
    lines.append("end")
    return lines


def build_case(case, dtype):
    if case["module"] in OPTIMIZERS:
        return optimizer_case(case, dtype)
    if case["module"].startswith("clip_"):
        return clip_case(case, dtype)
    return scheduler_case(case, dtype)


def main():
    torch.set_num_threads(1)
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    assert hex_float(1.5) == "0x1.8p+0"
    os.makedirs(OUT_DIR, exist_ok=True)
    for dtype_name, dtype in DTYPES:
        lines = [
            "# seqnet golden cases for torch.optim (SGD, Adam, AdamW, RMSprop, Adagrad; foreach=False), gradient",
            "# clipping and StepLR/CosineAnnealingLR; generated by tools/gen_golden_optim.py -- do not edit by hand.",
            "seqnet-golden 1",
            "dtype " + dtype_name,
            "torch " + torch.__version__,
            "cases %d" % len(CASES),
        ]
        for case in CASES:
            lines += build_case(case, dtype)
        path = os.path.join(OUT_DIR, "optim_%s.txt" % dtype_name)
        with open(path, "w", encoding="ascii", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
        print("wrote %d %s cases to %s (%d bytes)" % (len(CASES), dtype_name, os.path.relpath(path, ROOT),
                                                      os.path.getsize(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
