"""The interface every bridge (and every baseline) implements, so one harness runs them all.

A bridge owns two frozen backbones and its own small trainable modules. It turns parallel
text into a training batch (`collate`), a batch into a loss (`loss`), and sources into
translations (`translate`). Only its own parameters are trainable and saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

import torch
from torch import nn

from ..backbones import FrozenDecoder, FrozenEncoder
from ..errors import InputError
from ..languages import get_language, normalize_language

BACKBONE_PREFIXES = ("encoder.", "decoder.")


@dataclass(frozen=True)
class TranslationPair:
    src: str
    tgt: str
    src_lang: str
    tgt_lang: str = "eng_Latn"


class Bridge(nn.Module):
    method: ClassVar[str]
    config_class: ClassVar[type]

    def __init__(self, encoder: FrozenEncoder, decoder: FrozenDecoder, config):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.config = config

    # ---- trainable part -------------------------------------------------------------------
    def train(self, mode: bool = True):
        super().train(mode)
        self.encoder.eval()  # frozen backbones never train: no dropout, ever
        self.decoder.eval()
        return self

    def trainable_named_parameters(self) -> list[tuple[str, nn.Parameter]]:
        return [(n, p) for n, p in self.named_parameters() if not n.startswith(BACKBONE_PREFIXES)]

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        return {n: p.detach() for n, p in self.trainable_named_parameters()}

    def parameter_counts(self) -> dict[str, int]:
        return {
            "trainable": sum(p.numel() for _, p in self.trainable_named_parameters()),
            "encoder": sum(p.numel() for p in self.encoder.parameters()),
            "decoder": sum(p.numel() for p in self.decoder.parameters()),
        }

    def backbone_identities(self) -> dict[str, dict]:
        return {"encoder": self.encoder.identity(), "decoder": self.decoder.identity()}

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        # Training goes through forward so that DDP (accelerate) sees the call it hooks.
        return self.loss(batch)

    # ---- what each method implements --------------------------------------------------------
    def collate(self, pairs: Sequence[TranslationPair]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def generate_batch(self, texts: list[str], src_lang: str, tgt_lang: str, **generation) -> list[str]:
        raise NotImplementedError

    # ---- shared ------------------------------------------------------------------------------
    def instruction(self, tgt_lang: str) -> str:
        lang = get_language(tgt_lang)
        return self.config.instruction.format(tgt_name=lang.name, tgt_code=lang.code)

    @torch.no_grad()
    def translate(self, texts: Sequence[str], src_lang: str, tgt_lang: str = "eng_Latn", *,
                  batch_size: int = 16, **generation) -> list[str]:
        """Translate in length-sorted batches; results come back in input order.

        Every line is checked before anything runs, so one bad line fails the call up front
        instead of after minutes of work.
        """
        if isinstance(texts, str):
            raise InputError("translate() takes a list of texts, not a single string")
        src_lang, tgt_lang = normalize_language(src_lang), normalize_language(tgt_lang)
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
        if bad:
            shown = ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else "")
            raise InputError(f"{len(bad)} empty or non-text input(s) at index {shown}; every input must be non-empty text")
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        results: list[str | None] = [None] * len(texts)
        was_training = self.training
        self.eval()
        try:
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                outputs = self.generate_batch([texts[i] for i in idx], src_lang, tgt_lang, **generation)
                for i, out in zip(idx, outputs, strict=True):
                    results[i] = out
        finally:
            self.train(was_training)
        return results
