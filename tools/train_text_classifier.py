#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The PyTorch program examples/train_text_classifier.cpp mirrors (docs/training.md shows them side by side).

    /work/torch-venv/bin/python tools/train_text_classifier.py

Embedding -> bidirectional LSTM over packed sequences -> Linear on [h_n forward, h_n reverse] ->
cross entropy, Adam, minibatches in file order, on examples/data/reviews.tsv (tools/make_text_corpus.py).
Prints the last epoch's mean training loss and the held-out accuracy, for comparison with the C++ example
(the initial weights differ, so the numbers agree only roughly).
"""

import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = 240
EPOCHS = 12
BATCH = 16


class TextClassifier(nn.Module):
    def __init__(self, vocab_size, embed=16, hidden=24, classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=0)
        self.lstm = nn.LSTM(embed, hidden, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, ids, lengths):                      # ids [seq, batch], padded with 0
        x = self.embedding(ids)                           # [seq, batch, embed]
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)                   # h_n [2, batch, hidden]
        return self.fc(torch.cat([h_n[0], h_n[1]], 1))    # [batch, classes]


def read_corpus():
    labels, sentences = [], []
    with open(os.path.join(ROOT, "examples", "data", "reviews.tsv")) as f:
        for line in f:
            label, text = line.rstrip("\n").split("\t")
            labels.append(int(label))
            sentences.append(text.split(" "))
    vocab = {w: i + 1 for i, w in enumerate(sorted({w for s in sentences for w in s}))}  # 0 is padding
    return labels, [[vocab[w] for w in s] for s in sentences], len(vocab) + 1


def batch(ids, labels, begin, end):
    rows = ids[begin:end]
    seq = max(len(r) for r in rows)
    x = torch.zeros(seq, len(rows), dtype=torch.long)
    for b, r in enumerate(rows):
        x[:len(r), b] = torch.tensor(r)
    return x, torch.tensor([len(r) for r in rows]), torch.tensor(labels[begin:end])


def main():
    torch.manual_seed(0)
    labels, ids, vocab_size = read_corpus()
    model = TextClassifier(vocab_size)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(EPOCHS):
        total = 0.0
        for begin in range(0, TRAIN, BATCH):
            x, lengths, y = batch(ids, labels, begin, min(begin + BATCH, TRAIN))
            opt.zero_grad()
            loss = F.cross_entropy(model(x, lengths), y)
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
        print("epoch %d: mean training loss %.4f" % (epoch + 1, total / TRAIN))
    x, lengths, y = batch(ids, labels, TRAIN, len(ids))
    with torch.no_grad():
        accuracy = (model(x, lengths).argmax(1) == y).float().mean().item()
    print("held-out accuracy %.3f" % accuracy)


if __name__ == "__main__":
    main()
