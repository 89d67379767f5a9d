"""The pieces of CrossLoRA (paper section 3.2), each readable on its own.

    StaticRouter      f(x; i, j) of eq. 5: a row's source language picks its A, its target its B
    CrossLoRALinear   y = W0 x + scaling * B_tgt A_src x, per row                      eq. 4

The per-row layer, the call's Routing and why peft is not used: bridges/lora_experts (shared
with the MoLoRA baselines, bridges/molora).
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import torch

from ...errors import InputError
from ...pairs import TranslationPair
from ..lora_experts import (RowRoutedLoRALinear, RowRouter, Routing, language_or_as_given, refuse_unrouted,
                           side_language)


class StaticRouter(RowRouter):
    """Eq. 5: f(x; i, j) = 1 exactly for i = the row's source expert, j = its target expert.

    languages -> expert groups (config.expert_groups: one per language, or merged by typology);
    A experts are the groups (one in all with shared_source), B experts likewise (shared_target).
    The router also holds the routing of the call in progress (`current`), which every
    CrossLoRALinear of the model reads: the bridge sets it for one loss or generate call.
    """

    title = "CrossLoRA"

    def __init__(self, languages: Sequence[str], groups: dict[str, str], shared_source: bool, shared_target: bool):
        self.languages = list(languages)
        self.groups = list(dict.fromkeys(groups[lang] for lang in self.languages))  # expert order: first seen
        self.expert = {lang: self.groups.index(groups[lang]) for lang in self.languages}
        self.shared_source, self.shared_target = shared_source, shared_target
        super().__init__(num_a=1 if shared_source else len(self.groups), num_b=1 if shared_target else len(self.groups))

    def check(self, lang: str, side: str) -> str:
        """The FLORES-200 code of an expert language, or an InputError naming the accepted ones."""
        code = side_language(lang, side)
        if code not in self.expert:
            raise InputError(f"{side} language {code} has no CrossLoRA expert; this bridge's languages are "
                             f"{', '.join(self.languages)}")
        return code

    def check_direction(self, src_lang: str, tgt_lang: str) -> None:
        self.check(src_lang, "source")
        self.check(tgt_lang, "target")

    def check_pairs(self, pairs: Sequence[TranslationPair]) -> None:
        outside = Counter(code for pair in pairs for code in {language_or_as_given(pair.src_lang),
                                                              language_or_as_given(pair.tgt_lang)}
                          if code not in self.expert)
        refuse_unrouted(outside, "languages", self.title, self.languages, "bridge.languages")

    def route(self, src_langs: Sequence[str], tgt_langs: Sequence[str]) -> Routing:
        """Each row's experts; every language must be an expert language, shared experts or not."""
        srcs = [self.check(lang, "source") for lang in src_langs]
        tgts = [self.check(lang, "target") for lang in tgt_langs]
        a = [0 if self.shared_source else self.expert[lang] for lang in srcs]
        b = [0 if self.shared_target else self.expert[lang] for lang in tgts]
        return Routing(torch.tensor(a, dtype=torch.long), torch.tensor(b, dtype=torch.long))


class CrossLoRALinear(RowRoutedLoRALinear):
    """A frozen nn.Linear plus per-language LoRA experts, crossed (eq. 4-5):

        y = W0 x + scaling * B[expert_b] A[expert_a] dropout(x),   scaling = alpha / r

    A: (num_a, r, in) and B: (num_b, out, r), one slice per expert (A of the source languages,
    B of the target languages); the per-row forward is RowRoutedLoRALinear's.
    """

    prefix = "crosslora"  # crosslora_A, crosslora_B
    title = "CrossLoRA"
