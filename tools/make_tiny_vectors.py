#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the tiny word-vector files seqnet ships for its examples and tests, so nothing is downloaded.

    python3 tools/make_tiny_vectors.py            # rewrite the files below
    /usr/bin/python3 tools/make_tiny_vectors.py --torch-print hello
                                                  # also print torch.tensor(vectors['hello']) as PyTorch
                                                  # does (the expected output of examples/glove_lookup)

The values are SYNTHETIC: deterministic pseudo-random numbers (Python's random.Random with fixed seeds),
not GloVe's or word2vec's trained vectors, so they carry no meaning and no licence. Every value has 4
decimals and a magnitude in [0.01, 1), which keeps PyTorch's tensor printing in its fixed-point mode.

Files (standard library only; the output is the same on every Python 3):
  examples/data/tiny_glove.100d.txt          GloVe text format: "word v1 ... v100", 30 common English words
                                             including 'hello' and 'world' (seed section 1.2)
  tests/data/word_vectors/tiny_glove.6d.txt  GloVe text format, 12 words x 6 values, with UTF-8 words
  tests/data/word_vectors/tiny_word2vec.6d.txt
                                             the same vectors in word2vec's text format: a "12 6" header
                                             line, and a space after every value as the original C tool writes
"""

import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EXAMPLE_WORDS = [
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "it",
    "was", "on", "with", "as", "at", "by", "this", "from", "be", "or",
    "hello", "world", "word", "vector", "sequence", "network", "memory", "time", "learning", "model",
]

TEST_WORDS = ["hello", "world", "the", "lstm", "rnn", "embedding", "café", "naïve", "你好", "世界", "e=mc²", "end."]


def vectors(words, dim, seed):
    rng = random.Random(seed)
    rows = []
    for _ in words:
        row = []
        for _ in range(dim):
            magnitude = rng.randint(100, 9999) / 10000.0  # 0.0100 .. 0.9999
            row.append(magnitude if rng.random() < 0.5 else -magnitude)
        rows.append(row)
    return rows


def write(path, words, rows, header=False, trailing_space=False):
    full = os.path.join(ROOT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8", newline="\n") as f:
        if header:
            f.write("%d %d\n" % (len(words), len(rows[0])))
        for word, row in zip(words, rows):
            f.write(word + " " + " ".join("%.4f" % v for v in row) + (" " if trailing_space else "") + "\n")
    print("wrote %s (%d words x %d, %d bytes)" % (path, len(words), len(rows[0]), os.path.getsize(full)))


def main(argv):
    example_rows = vectors(EXAMPLE_WORDS, 100, seed=20261124)
    write("examples/data/tiny_glove.100d.txt", EXAMPLE_WORDS, example_rows)
    test_rows = vectors(TEST_WORDS, 6, seed=6)
    write("tests/data/word_vectors/tiny_glove.6d.txt", TEST_WORDS, test_rows)
    write("tests/data/word_vectors/tiny_word2vec.6d.txt", TEST_WORDS, test_rows, header=True, trailing_space=True)

    if len(argv) == 3 and argv[1] == "--torch-print":
        import torch  # only for this check
        row = example_rows[EXAMPLE_WORDS.index(argv[2])]
        print(torch.tensor([float("%.4f" % v) for v in row]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
