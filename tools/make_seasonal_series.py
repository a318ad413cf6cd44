#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes examples/data/seasonal.csv: 240 monthly values of a noisy seasonal series (trend, a yearly cycle
with a smaller half-year harmonic, and Gaussian noise from a fixed seed), the data examples/train_reg_lstm.cpp
trains the tutorial's RegLSTM on. Plain Python, deterministic: python3 tools/make_seasonal_series.py"""

import math
import os
import random

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    rng = random.Random(20261207)
    lines = ["# month,value (tools/make_seasonal_series.py)"]
    for month in range(240):
        trend = 100.0 + 0.35 * month
        season = 18.0 * math.sin(2 * math.pi * month / 12) + 6.0 * math.cos(2 * math.pi * month / 6)
        value = trend + season * (1.0 + month / 480.0) + rng.gauss(0.0, 3.0)
        lines.append("%d,%.3f" % (month, value))
    path = os.path.join(ROOT, "examples", "data", "seasonal.csv")
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()
