#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes examples/data/reviews.tsv: a tiny synthetic sentiment corpus for examples/train_text_classifier.cpp.

    python3 tools/make_text_corpus.py

Each line is `<label>\t<sentence>` (label 1 positive, 0 negative), lower case, words separated by single
spaces. Sentences are short product and film reviews built from templates over a vocabulary of about 60
words; negation ("not", "never") flips an adjective's polarity and "but" makes the second clause decide,
so word counts alone do not separate the classes and a model must read the order. The first 240 lines
train, the last 60 are held out. Deterministic (fixed seed; Python's `random` only, no third-party packages).
"""

import os
import random

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "examples", "data", "reviews.tsv")

POSITIVE = ["good", "great", "excellent", "wonderful", "fun", "lovely", "solid", "brilliant"]
NEGATIVE = ["bad", "awful", "boring", "terrible", "dull", "poor", "weak", "annoying"]
NOUNS = ["film", "movie", "plot", "story", "acting", "ending", "book", "phone", "camera", "battery", "screen",
         "music"]
ADVERBS = ["really", "very", "quite", "truly", "rather", "so"]
OPENERS = ["i think", "honestly", "overall", "to be fair", "in short"]


def clause(rng, polarity):
    """A clause of the given polarity (1 positive, 0 negative), negated half of the time."""
    negated = rng.random() < 0.4
    words = POSITIVE if (polarity == 1) != negated else NEGATIVE
    adjective = rng.choice(words)
    noun = rng.choice(NOUNS)
    adverb = rng.choice(ADVERBS) + " " if rng.random() < 0.5 else ""
    negation = rng.choice(["not", "never"]) if negated else ""
    form = rng.randrange(3)
    if form == 0:
        return "the %s was %s%s" % (noun, (negation + " ") if negation else "", adverb + adjective)
    if form == 1:
        # "i did not find the plot boring" is positive, "i did not find the plot good" negative.
        return "i %s the %s %s%s" % ("did not find" if negated else "found", noun, adverb, adjective)
    return "%s%s %s" % ("a " if not negated else "not a ", adjective, noun)


def sentence(rng, label):
    if rng.random() < 0.35:
        # "<clause of the other polarity> but <clause of the label>": the last clause decides.
        text = clause(rng, 1 - label) + " but " + clause(rng, label)
    else:
        text = clause(rng, label)
    if rng.random() < 0.3:
        text = rng.choice(OPENERS) + " " + text
    return text


def main():
    rng = random.Random(12)
    lines = []
    for i in range(300):
        label = i % 2
        lines.append("%d\t%s" % (label, sentence(rng, label)))
    rng.shuffle(lines)
    with open(OUT, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d sentences to %s (%d bytes)" % (len(lines), os.path.relpath(OUT, ROOT), os.path.getsize(OUT)))


if __name__ == "__main__":
    main()
