"""Output length and repetition loops: the symptom of a small LLM decoding greedily
("and they were eating and drinking, and they were eating and drinking, ...") and of LMT's
shallow mapping trap (fluent output detached from the source). A looping output is long, so it
costs BLEU precision more than chrF++; these counts say how much of a score it explains."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

LOOP_NGRAM, LOOP_TIMES = 4, 3  # an output loops when one word 4-gram occurs 3 times or more


def loops(text: str) -> bool:
    words = text.split()
    grams = Counter(tuple(words[i:i + LOOP_NGRAM]) for i in range(len(words) - LOOP_NGRAM + 1))
    return bool(grams) and max(grams.values()) >= LOOP_TIMES


@dataclass(frozen=True)
class OutputStats:
    segments: int
    words: float  # mean words per output
    length_ratio: float | None  # output words / reference words (None: empty references)
    looping: float  # share of outputs that loop
    identical: float  # share of outputs equal to another output of the same set (a generic answer)


def output_stats(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> OutputStats:
    """Over several sets (e.g. one per direction): each set's hypotheses with its references.
    `identical` counts within each set: the same output for different sources."""
    hyps = [h for hs in hypotheses for h in hs]
    if not hyps:
        raise ValueError("output_stats needs at least one hypothesis")
    words = sum(len(h.split()) for h in hyps)
    ref_words = sum(len(r.split()) for rs in references for r in rs)
    repeated = 0
    for hs in hypotheses:
        counts = Counter(h.strip() for h in hs)
        repeated += sum(n for h, n in counts.items() if n > 1)
    return OutputStats(len(hyps), words / len(hyps), words / ref_words if ref_words else None,
                       sum(map(loops, hyps)) / len(hyps), repeated / len(hyps))
