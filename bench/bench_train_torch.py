#!/usr/bin/env python3
"""PyTorch's side of bench/bench_train.cpp: one training step (forward, MSE against zeros, backward, Adam)
of nn.RNN/GRU/LSTM in fp32 on the CPU, on the same shapes, median microseconds per step.

    python bench/bench_train_torch.py --threads 1 [--repetitions 5] [--min-time 0.5]
"""
import argparse
import statistics
import time

import torch

SHAPES = [(25, 1, 16, 64), (50, 16, 256, 256), (100, 64, 512, 512)]


def time_step(step, min_time):
    for _ in range(2):
        step()
    calls, start = 0, time.perf_counter()
    while True:
        step()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / calls * 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repetitions}")
    for seq, batch, inp, hidden in SHAPES:
        for kind in ("RNN", "GRU", "LSTM"):
            rnn = getattr(torch.nn, kind)(inp, hidden)
            adam = torch.optim.Adam(rnn.parameters(), lr=1e-3)
            x = torch.randn(seq, batch, inp)
            target = torch.zeros(seq, batch, hidden)
            mse = torch.nn.MSELoss()

            def step():
                adam.zero_grad()
                out, _ = rnn(x)
                mse(out, target).backward()
                adam.step()

            times = [time_step(step, args.min_time) for _ in range(args.repetitions)]
            print(f"train/{kind}_s{seq}_b{batch}_i{inp}_h{hidden}  {statistics.median(times):10.1f} us")


if __name__ == "__main__":
    main()
