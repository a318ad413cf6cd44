#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PyTorch's side of bench/bench_conv.cpp: torch.nn.Conv1d (fp32, eval, no_grad) at one thread on the same
shapes, timed as Google Benchmark times (iterations grow to --min-time seconds, median of --repetitions), wall
clock and process CPU time (compare CPU with Google Benchmark's CPU column on a busy machine).

    /work/torch-venv/bin/python bench/bench_conv_torch.py [--min-time 0.5] [--repetitions 5]
"""
import argparse
import statistics
import time

import torch

SHAPES = [  # batch, in, length, out, kernel, stride, padding (as bench_conv.cpp)
    (1, 258, 4, 128, 3, 1, 1),
    (1, 128, 64, 64, 3, 2, 1),
    (8, 64, 400, 64, 5, 1, 2),
]


def time_case(conv, x, min_time, repetitions):
    iterations = 1
    while True:
        start = time.perf_counter()
        for _ in range(iterations):
            conv(x)
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            break
        iterations *= 2
    runs, cpu = [], []
    for _ in range(repetitions):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(iterations):
            conv(x)
        runs.append((time.perf_counter() - start) / iterations)
        cpu.append((time.process_time() - start_cpu) / iterations)
    return statistics.median(runs), statistics.median(cpu)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--min-time", type=float, default=0.5)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(1)
    with torch.no_grad():
        for index, (n, cin, length, cout, k, stride, padding) in enumerate(SHAPES):
            conv = torch.nn.Conv1d(cin, cout, k, stride=stride, padding=padding).eval()
            x = torch.randn(n, cin, length)
            wall, cpu = time_case(conv, x, args.min_time, args.repetitions)
            print("torch BM_Conv1d/%d [%d, %d, %d] k=%d s=%d -> %d: %.2f us wall, %.2f us CPU"
                  % (index, n, cin, length, k, stride, cout, wall * 1e6, cpu * 1e6))


if __name__ == "__main__":
    main()
