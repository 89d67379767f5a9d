"""One parallel sentence pair: what the data layer reads and every bridge trains on.

Kept apart from bridges/ (which imports torch) so that reading and checking corpora and test
sets, before any model is loaded, does not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TranslationPair:
    src: str
    tgt: str
    src_lang: str
    tgt_lang: str = "eng_Latn"
    # A third sentence, where the corpus is multi-way: the pair's English in an x-en-y triple
    # (XBridge trains its LLM on x -> en and its NMT decoder on en -> y). None otherwise.
    pivot: str | None = None
    pivot_lang: str | None = None
