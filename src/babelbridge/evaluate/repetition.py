"""Output length and repetition loops: the symptom of a small LLM decoding greedily
("and they were eating and drinking, and they were eating and drinking, ...") and of LMT's
shallow mapping trap (fluent output detached from the source). A looping output is long, so it
costs BLEU precision more than chrF++; these counts say how much of a score it explains.

Recall of training text: the trap's other face is an output that replays a sentence the model
was trained on (a Genesis verse for a verse of Ruth). An output recalls training text when it
holds a word 6-gram of the training text in its language that its own reference does not hold;
excluding the reference's n-grams keeps the formulas a test verse shares with the training
verses ("and there was evening and there was morning") from counting."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

LOOP_NGRAM, LOOP_TIMES = 4, 3  # an output loops when one word 4-gram occurs 3 times or more
RECALL_NGRAM = 6  # an output recalls training text when it shares a word 6-gram with it (not with its reference)
_PUNCTUATION = str.maketrans("", "", ".,;:!?\"'()[]«»“”‘’„¿¡")


def loops(text: str) -> bool:
    words = text.split()
    grams = Counter(tuple(words[i:i + LOOP_NGRAM]) for i in range(len(words) - LOOP_NGRAM + 1))
    return bool(grams) and max(grams.values()) >= LOOP_TIMES


def word_ngrams(text: str, n: int = RECALL_NGRAM) -> set[tuple[str, ...]]:
    """Lower-cased word n-grams without punctuation: "And God said," and "and God said" match."""
    words = text.lower().translate(_PUNCTUATION).split()
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def recalls(hypothesis: str, reference: str, seen: set[tuple[str, ...]]) -> bool:
    """The output holds a word n-gram of the training text (`seen`: word_ngrams of it) that its
    reference does not hold."""
    return bool((word_ngrams(hypothesis) & seen) - word_ngrams(reference))


@dataclass(frozen=True)
class OutputStats:
    segments: int
    words: float  # mean words per output
    length_ratio: float | None  # output words / reference words (None: empty references)
    looping: float  # share of outputs that loop
    identical: float  # share of outputs equal to another output of the same set (a generic answer)
    recalled: float | None = None  # share of outputs that recall training text (None: no training text given)


def output_stats(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]],
                 seen: Sequence[set[tuple[str, ...]]] | None = None) -> OutputStats:
    """Over several sets (e.g. one per direction): each set's hypotheses with its references.
    `identical` counts within each set: the same output for different sources. seen: per set,
    the word n-grams of the training text in its target language (`recalled` then counts)."""
    hyps = [h for hs in hypotheses for h in hs]
    if not hyps:
        raise ValueError("output_stats needs at least one hypothesis")
    words = sum(len(h.split()) for h in hyps)
    ref_words = sum(len(r.split()) for rs in references for r in rs)
    repeated = 0
    for hs in hypotheses:
        counts = Counter(h.strip() for h in hs)
        repeated += sum(n for h, n in counts.items() if n > 1)
    recalled = None
    if seen is not None:
        if len(seen) != len(hypotheses):
            raise ValueError(f"output_stats: {len(seen)} sets of training n-grams for {len(hypotheses)} sets of outputs")
        recalled = sum(recalls(h, r, ngrams) for hs, rs, ngrams in zip(hypotheses, references, seen)
                       for h, r in zip(hs, rs, strict=True)) / len(hyps)
    return OutputStats(len(hyps), words / len(hyps), words / ref_words if ref_words else None,
                       sum(map(loops, hyps)) / len(hyps), repeated / len(hyps), recalled)
