#!/usr/bin/env python3
"""PyTorch (the PyPI wheel, as users run it) as a peer of seqnet_bench.

Reads the weights, inputs and seqnet outputs that `seqnet_bench --seqnet_dump=DIR` wrote, builds the same
torch.nn module for each case, loads the same weights, and checks that torch reproduces seqnet's output,
h_n and c_n (max abs diff <= 1e-4 fp32, 1e-10 fp64) before timing it. A case that disagrees is reported
as an error with its difference instead of a time. Timing follows Google Benchmark: the iteration count
grows until one run lasts --min-time seconds, then --repetitions runs of that many iterations, and the
JSON holds the median, mean and stddev per case in Google Benchmark's format (so tools/bench_report.py
reads it like seqnet_bench's own output).

    bench_torch.py --data DIR --threads N --out torch.json [--min-time 0.2] [--repetitions 5] [--filter RE]
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import sys
import time

import torch

TOLERANCE = {"f32": 1e-4, "f64": 1e-10}
DTYPES = {"f32": torch.float32, "f64": torch.float64}


def load_arrays(data_dir, case):
    """The case's arrays by name, as tensors of the case's dtype."""
    with open(os.path.join(data_dir, case["file"]), "rb") as f:
        blob = bytearray(f.read())
    dtype = DTYPES[case["dtype"]]
    arrays = {}
    for entry in case["arrays"]:
        count = 1
        for extent in entry["shape"]:
            count *= extent
        flat = torch.frombuffer(blob, dtype=dtype, count=count, offset=entry["offset"])
        arrays[entry["name"]] = flat.reshape(entry["shape"]).clone()
    return arrays


def build_module(case):
    """The torch.nn module matching one manifest entry, in the case's dtype."""
    model, dtype = case["model"], DTYPES[case["dtype"]]
    if case["cell"]:
        cell_types = {"RNNCell": torch.nn.RNNCell, "LSTMCell": torch.nn.LSTMCell, "GRUCell": torch.nn.GRUCell}
        module = cell_types[model](case["input"], case["hidden"])
    else:
        common = dict(num_layers=case["layers"], bidirectional=case["directions"] == 2,
                      batch_first=case["batch_first"])
        if model == "LSTM":
            module = torch.nn.LSTM(case["input"], case["hidden"], proj_size=case["proj_size"], **common)
        elif model == "GRU":
            module = torch.nn.GRU(case["input"], case["hidden"], **common)
        else:
            module = torch.nn.RNN(case["input"], case["hidden"], **common)
    return module.to(dtype).eval()


def load_weights(module, arrays):
    names = [name for name, _ in module.named_parameters()]
    dumped = [name for name in arrays if name not in ("input", "h0", "c0", "output", "h_n", "c_n")]
    if names != dumped:
        raise ValueError(f"parameter names differ: torch {names} vs seqnet {dumped}")
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if tuple(parameter.shape) != tuple(arrays[name].shape):
                raise ValueError(f"{name}: torch shape {tuple(parameter.shape)} vs seqnet {tuple(arrays[name].shape)}")
            parameter.copy_(arrays[name])


def make_call(case, module, arrays):
    """The timed call, and a function mapping its result to the arrays seqnet dumped."""
    x = arrays["input"]
    if case["cell"]:
        if case["model"] == "LSTMCell":
            state = (arrays["h0"], arrays["c0"])
            return (lambda: module(x, state)), (lambda r: {"h_n": r[0], "c_n": r[1]})
        h0 = arrays["h0"]
        return (lambda: module(x, h0)), (lambda r: {"h_n": r})
    if case["model"] == "LSTM":
        return (lambda: module(x)), (lambda r: {"output": r[0], "h_n": r[1][0], "c_n": r[1][1]})
    return (lambda: module(x)), (lambda r: {"output": r[0], "h_n": r[1]})


def max_abs_diff(results, arrays):
    worst = 0.0
    for name, value in results.items():
        expected = arrays[name]
        if tuple(value.shape) != tuple(expected.shape):
            return float("inf")
        worst = max(worst, (value - expected).abs().max().item())
    return worst


def time_call(call, min_time, repetitions):
    """Per-iteration wall and CPU seconds of `repetitions` runs, each of an iteration count long enough
    to last min_time (found as Google Benchmark does, by growing the count)."""
    call()  # warm-up: first-call allocations and oneDNN primitive creation inside torch
    iterations = 1
    while True:
        start = time.perf_counter()
        for _ in range(iterations):
            call()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or iterations >= 1_000_000_000:
            break
        multiplier = min_time * 1.4 / max(elapsed, 1e-9)
        iterations = max(iterations + 1, min(int(iterations * multiplier), iterations * 10))
    wall, cpu = [], []
    for _ in range(repetitions):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(iterations):
            call()
        wall.append((time.perf_counter() - start_wall) / iterations)
        cpu.append((time.process_time() - start_cpu) / iterations)
    return iterations, wall, cpu


def torch_build_info():
    config = torch.__config__.show()
    mkl = re.search(r"Math Kernel Library Version ([^\s]+)", config)
    onednn = re.search(r"MKL-DNN v([^\s]+)", config)
    return {
        "torch_version": torch.__version__,
        "torch_mkl": mkl.group(1) if mkl else "absent",
        "torch_onednn": onednn.group(1) if onednn else "absent",
        "torch_mkldnn_enabled": str(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="directory written by seqnet_bench --seqnet_dump")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--min-time", type=float, default=0.2)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--filter", default="", help="regex on the benchmark name, as --benchmark_filter")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)

    with open(os.path.join(args.data, "manifest.json")) as f:
        manifest = json.load(f)

    context = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "host_name": platform.node(),
        "executable": "bench/bench_torch.py",
        "num_cpus": os.cpu_count(),
        "library_build_type": "release",
        "python_version": platform.python_version(),
        "requested_threads": str(args.threads),
        "torch_threads": str(torch.get_num_threads()),
        "torch_interop_threads": str(torch.get_num_interop_threads()),
        "min_time": str(args.min_time),
        "repetitions": str(args.repetitions),
        **torch_build_info(),
    }
    benchmarks = []
    pattern = re.compile(args.filter)
    for case in manifest["cases"]:
        run_name = "torch/" + case["name"]
        if not pattern.search(run_name):
            continue
        arrays = load_arrays(args.data, case)
        module = build_module(case)
        load_weights(module, arrays)
        call, unpack = make_call(case, module, arrays)
        with torch.inference_mode():
            diff = max_abs_diff(unpack(call()), arrays)
            base = {"run_name": run_name, "run_type": "aggregate", "repetitions": args.repetitions,
                    "threads": 1, "time_unit": "us", "max_abs_diff": diff}
            if not diff <= TOLERANCE[case["dtype"]]:
                message = f"torch disagrees with seqnet: max abs diff {diff:g}"
                print(f"{run_name}: {message}", file=sys.stderr)
                benchmarks.append({**base, "name": run_name, "error_occurred": True, "error_message": message})
                continue
            iterations, wall, cpu = time_call(call, args.min_time, args.repetitions)
        stats = {"median": statistics.median, "mean": statistics.mean,
                 "stddev": lambda v: statistics.stdev(v) if len(v) > 1 else 0.0}
        for aggregate, reduce in stats.items():
            real, cpu_time = reduce(wall), reduce(cpu)
            entry = {**base, "name": f"{run_name}_{aggregate}", "aggregate_name": aggregate,
                     "iterations": iterations, "real_time": real * 1e6, "cpu_time": cpu_time * 1e6}
            if aggregate != "stddev":
                entry["GFLOP/s"] = case["flops"] * 1e-9 / real
            benchmarks.append(entry)
        print(f"{run_name:60s} {statistics.median(wall) * 1e6:12.1f} us  (max abs diff {diff:.2g})", flush=True)
        del module, arrays, call, unpack

    with open(args.out, "w") as f:
        json.dump({"context": context, "benchmarks": benchmarks}, f, indent=2)


if __name__ == "__main__":
    main()
