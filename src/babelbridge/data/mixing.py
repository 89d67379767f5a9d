"""Mixing several corpora into one training list, deterministically for a seed.

concat    every pair of every corpus, shuffled.
weighted  `size` draws (default: all pairs' count); each draw picks a corpus with probability
          proportional to its weight, then that corpus's next pair from a shuffled pass.
          A corpus drawn more often than it has pairs starts a new shuffled pass, so it is
          sampled without replacement while it lasts and with replacement after that; the
          repeats stay even (no pair is used twice more than another one).
balanced  every corpus down-sampled to the smallest one's size (or to `size` per corpus,
          never up-sampling a corpus smaller than that), then shuffled. This is the HCA
          paper's "oracle" mix: no language pair dominates by sheer volume.
Inputs are never modified; every mode returns a new list.
"""

from __future__ import annotations

import math
import random
from typing import Iterator, Sequence

from ..pairs import TranslationPair
from .corpus import Corpus
from .errors import DataError

MIX_MODES = ("concat", "weighted", "balanced")


def _shuffled_passes(pairs: list[TranslationPair], rng: random.Random) -> Iterator[TranslationPair]:
    while True:
        order = list(pairs)
        rng.shuffle(order)
        yield from order


def _weighted(corpora: Sequence[Corpus], rng: random.Random, size: int) -> list[TranslationPair]:
    for c in corpora:
        if isinstance(c.weight, bool) or not isinstance(c.weight, (int, float)) \
                or not math.isfinite(c.weight) or c.weight <= 0:
            raise DataError(f"weighted mix: corpus {c.name} needs a positive weight, got {c.weight!r}")
    picks = rng.choices(range(len(corpora)), weights=[c.weight for c in corpora], k=size)
    streams = [_shuffled_passes(c.pairs, rng) for c in corpora]
    return [next(streams[i]) for i in picks]


def _balanced(corpora: Sequence[Corpus], rng: random.Random, size: int | None) -> list[TranslationPair]:
    per_corpus = min(len(c) for c in corpora) if size is None else size
    out: list[TranslationPair] = []
    for c in corpora:
        out += rng.sample(c.pairs, min(per_corpus, len(c)))
    rng.shuffle(out)
    return out


def mix_corpora(corpora: Sequence[Corpus], *, mode: str = "concat", seed: int = 0,
                size: int | None = None) -> list[TranslationPair]:
    """One shuffled list of pairs from several corpora; see the module docstring for the modes.

    size: total draws for "weighted", pairs per corpus for "balanced"; "concat" takes none.
    """
    if mode not in MIX_MODES:
        raise DataError(f"unknown mixture mode {mode!r}; expected one of: {', '.join(MIX_MODES)}")
    if not corpora:
        raise DataError("no corpora to mix")
    for c in corpora:
        if not isinstance(c, Corpus):
            raise TypeError(f"mix_corpora takes Corpus objects (from read_corpus), got {type(c).__name__}")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise DataError(f"size must be a non-negative integer or None, got {size!r}")
    if mode != "concat":  # sampling from an empty corpus is impossible, and balancing to 0 is useless
        for c in corpora:
            if not c.pairs:
                raise DataError(f"{mode} mix: corpus {c.name} has no pairs")
    rng = random.Random(seed)
    if mode == "concat":
        if size is not None:
            raise DataError("size applies to the 'weighted' and 'balanced' mixtures, not 'concat'")
        out = [p for c in corpora for p in c.pairs]
        rng.shuffle(out)
        return out
    if mode == "weighted":
        return _weighted(corpora, rng, sum(len(c) for c in corpora) if size is None else size)
    return _balanced(corpora, rng, size)
