#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Defines, trains and exports the CRNN voice-activity detector of examples/crnn_vad.cpp, with its demo
clip and PyTorch's per-chunk probabilities (the golden data of the example and of tests/test_crnn_vad.cpp).

Regenerate (from the repository root):

    /work/torch-venv/bin/python tools/gen_crnn_vad.py      # generated with PyTorch 2.x, about a minute

Deterministic: seed 2026, one thread. Commit the regenerated files with any change to this script.

The model reads 16 kHz audio in chunks of 512 samples (32 ms), as Silero VAD does: a Conv1d front end
(a learned filter bank, strided), BatchNorm1d, ReLUs and an average over the chunk, then a GRU carried from
chunk to chunk, then a Linear head with a sigmoid: one speech probability per chunk. It is trained for a
few hundred Adam steps on synthetic audio: "speech" is a voiced source (harmonics of a gliding pitch,
shaped by moving formants, with a syllable-rate envelope) plus unvoiced noise bursts; "non-speech" is
white, brown or hum noise at random levels, under the speech too. It is a demonstration of a whole
model, not a VAD for real recordings.

    examples/data/crnn_vad.safetensors        model.state_dict() (F32; num_batches_tracked I64), exported
                                              with tools/export_safetensors.py
    examples/data/vad_demo.wav                the demo clip: 6 s, 16 kHz, 16-bit mono PCM
    examples/data/crnn_vad_golden.safetensors
        probability32  [187] F32  the fp32 model, chunk by chunk with the GRU state carried
        probability64  [187] F64  the same from model.double()
        h32            [1, 1, 32] F32, h64 F64: the GRU state after the last chunk
        label          [187] F32  1 where the clip holds speech (the synthesis's ground truth)
    examples/data/crnn_vad.txt                print(model), then the state_dict keys and shapes
"""

import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from export_safetensors import export  # noqa: E402

DATA_DIR = os.path.join(ROOT, "examples", "data")
RATE, CHUNK, HIDDEN = 16000, 512, 32


class CRNNVad(nn.Module):
    """Conv1d front end -> GRU -> Linear head, one probability per 512-sample chunk."""

    def __init__(self):
        super().__init__()
        self.frontend = nn.Sequential(
            nn.Conv1d(1, 16, kernel_size=32, stride=16),             # [N, 1, 512] -> [N, 16, 31]
            nn.BatchNorm1d(16),
            nn.ReLU(),
            nn.Conv1d(16, 32, kernel_size=5, stride=2, padding=2),   # -> [N, 32, 16]
            nn.ReLU(),
            nn.Conv1d(32, 32, kernel_size=3, stride=2, padding=1),   # -> [N, 32, 8]
            nn.ReLU(),
            nn.AvgPool1d(8),                                          # -> [N, 32, 1]
        )
        self.rnn = nn.GRU(32, HIDDEN)
        self.head = nn.Sequential(nn.Linear(HIDDEN, 1), nn.Sigmoid())

    def forward(self, chunks, h=None):
        """chunks [T, B, 512] -> probabilities [T, B], h [1, B, 32]."""
        steps, batch, samples = chunks.shape
        features = self.frontend(chunks.reshape(steps * batch, 1, samples)).reshape(steps, batch, -1)
        out, h = self.rnn(features, h)
        return self.head(out).squeeze(-1), h


def brown_noise(rng, n):
    x = np.cumsum(rng.standard_normal(n))
    x -= np.convolve(x, np.ones(801) / 801, mode="same")  # remove the drift
    return x / (np.std(x) + 1e-9)


def background(rng, n):
    """Non-speech: white, brown or mains-hum noise, at a random level."""
    kind = rng.integers(3)
    if kind == 0:
        x = rng.standard_normal(n)
    elif kind == 1:
        x = brown_noise(rng, n)
    else:
        t = np.arange(n) / RATE
        f = rng.choice([50.0, 60.0])
        x = sum(np.sin(2 * math.pi * f * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 6))
        x = x / np.std(x) + 0.3 * rng.standard_normal(n)
    return x * 10 ** rng.uniform(-3.2, -1.3)


def speech(rng, n):
    """Speech-like: a voiced source through moving formants, syllable envelope, unvoiced bursts."""
    t = np.arange(n) / RATE
    f0 = rng.uniform(90, 240) * (1 + 0.12 * np.sin(2 * math.pi * rng.uniform(0.3, 1.5) * t + rng.uniform(0, 6.3)))
    phase = 2 * math.pi * np.cumsum(f0) / RATE
    formants = [rng.uniform(300, 900), rng.uniform(900, 2300), rng.uniform(2300, 3300)]
    drift = [1 + 0.25 * np.sin(2 * math.pi * rng.uniform(1, 4) * t + rng.uniform(0, 6.3)) for _ in formants]
    voiced = np.zeros(n)
    for k in range(1, 40):
        fk = k * f0
        gain = sum(np.exp(-(((fk - F * d) / (0.12 * F)) ** 2)) for F, d in zip(formants, drift)) + 0.02
        voiced += np.where(fk < RATE / 2 - 500, gain / k, 0.0) * np.sin(k * phase)
    syllable = np.abs(np.sin(2 * math.pi * rng.uniform(2.5, 5.5) * t + rng.uniform(0, 6.3))) ** 0.7
    hiss = np.diff(rng.standard_normal(n + 1)) * 0.3
    burst = (np.sin(2 * math.pi * rng.uniform(1, 3) * t + rng.uniform(0, 6.3)) > 0.85).astype(float)
    x = voiced * syllable / (np.std(voiced) + 1e-9) + hiss * burst
    return x / (np.std(x) + 1e-9) * 10 ** rng.uniform(-1.6, -0.6)


def clip(rng, chunks, segments):
    """`chunks` chunks of background, with speech in `segments` [(first_chunk, end_chunk), ...]."""
    n = chunks * CHUNK
    audio = background(rng, n)
    label = np.zeros(chunks, dtype=np.float32)
    for first, end in segments:
        a, b = first * CHUNK, end * CHUNK
        audio[a:b] += speech(rng, b - a)
        label[first:end] = 1.0
    return np.clip(audio, -1.0, 1.0), label


def random_clip(rng, chunks):
    segments, at = [], int(rng.integers(0, 8))
    while at < chunks:
        length = int(rng.integers(6, 30))
        segments.append((at, min(at + length, chunks)))
        at += length + int(rng.integers(4, 25))
    return clip(rng, chunks, segments)


def quantize(audio):
    """What a 16-bit WAV holds, read back as floats in [-1, 1)."""
    return np.round(audio * 32767).astype(np.int16)


def write_wav(path, samples):
    data = samples.astype("<i2").tobytes()
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, RATE, RATE * 2, 2, 16))
        f.write(b"data" + struct.pack("<I", len(data)) + data)


def train(model, rng):
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.BCELoss()
    model.train()
    steps, batch, length = 300, 16, 40
    for step in range(steps):
        clips, labels = zip(*(random_clip(rng, length) for _ in range(batch)))
        x = torch.tensor(np.stack([quantize(c) for c in clips]) / 32768.0, dtype=torch.float32)
        x = x.reshape(batch, length, CHUNK).transpose(0, 1)          # [T, B, 512]
        y = torch.tensor(np.stack(labels)).transpose(0, 1)           # [T, B]
        probability, _ = model(x)
        loss = loss_fn(probability, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 50 == 0 or step == steps - 1:
            accuracy = ((probability > 0.5).float() == y).float().mean().item()
            print(f"step {step:3d}  loss {loss.item():.4f}  chunk accuracy {accuracy:.3f}")
    model.eval()


def stream(model, chunks):
    """PyTorch's per-chunk outputs: one chunk at a time, the GRU state carried."""
    h, probabilities = None, []
    with torch.no_grad():
        for k in range(chunks.shape[0]):
            p, h = model(chunks[k].reshape(1, 1, CHUNK), h)
            probabilities.append(p.reshape(()))
    return torch.stack(probabilities), h


def main():
    torch.manual_seed(2026)
    torch.set_num_threads(1)
    rng = np.random.default_rng(2026)
    model = CRNNVad()
    train(model, rng)

    # The demo clip: 6 s; speech at 0.5-1.7 s, 2.4-3.1 s, 3.6-5.2 s (in chunks of 32 ms).
    chunks = 187
    audio, label = clip(np.random.default_rng(7), chunks, [(16, 53), (75, 97), (112, 162)])
    samples = quantize(audio)
    write_wav(os.path.join(DATA_DIR, "vad_demo.wav"), samples)
    x64 = torch.tensor(samples.astype(np.float64) / 32768.0).reshape(chunks, CHUNK)

    p32, h32 = stream(model, x64.float())
    p64, h64 = stream(model.double(), x64)
    model.float()
    # The whole clip in one call gives the same numbers (the streamed golden is what the C++ example does).
    with torch.no_grad():
        whole, _ = model(x64.float().reshape(chunks, 1, CHUNK))
    assert torch.allclose(whole.reshape(-1), p32, atol=1e-6)

    export(model, os.path.join(DATA_DIR, "crnn_vad.safetensors"))
    golden = {"probability32": p32, "probability64": p64, "h32": h32, "h64": h64,
              "label": torch.tensor(label)}
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in golden.items()}, os.path.join(DATA_DIR, "crnn_vad_golden.safetensors"))
    with open(os.path.join(DATA_DIR, "crnn_vad.txt"), "w") as f:
        f.write(str(model) + "\n")
        for k, v in model.state_dict().items():
            f.write(f"{k} {list(v.shape)}\n")
    agreement = ((p32 > 0.5).float() == torch.tensor(label)).float().mean().item()
    print(f"demo clip: {chunks} chunks, agreement with the ground truth {agreement:.3f}")


if __name__ == "__main__":
    main()
