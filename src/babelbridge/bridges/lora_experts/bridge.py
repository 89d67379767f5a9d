"""ExpertLoRABridge: the frozen LLM, read through the prompt, whose chosen projections carry LoRA
experts that a router picks for each call. CrossLoRA and the MoLoRA baselines are this bridge
with their own router and layer (make_router, make_layer).

Like the LoRA baseline, the bridge extends PromptedBridge (prompt, loss, generation, PMP) and
owns its decoder: the target nn.Linear modules are replaced in place by the method's expert
layers, whose own parameters are the whole trainable part and checkpoint.

The router's choice is set for one call: collate adds what the router needs to the batch
(router.batch_fields: a labelled router's per-row expert indices), loss / answer_logits /
R-Drop's doubled batch route by it (router.for_batch), and generate_token_ids routes from its
languages, one per row or one for all, beams included (router.for_generation). With gradient
checkpointing the decoder re-enters the routing of the first pass while backward recomputes a
layer (FrozenDecoder.recompute_state: router.replay).
"""

from __future__ import annotations

from typing import ClassVar, Sequence

import torch
from torch import nn

from ...backbones import FrozenDecoder
from ..base import TranslationPair
from ..lora.config import LoRAConfig
from ..prompted import PromptedBridge
from ..prompted.model import per_row
from .inject import inject_experts
from .layer import ExpertLoRALinear
from .routing import ExpertRouter


class ExpertLoRABridge(PromptedBridge):
    trains = True
    title: ClassVar[str]  # the method's name in messages: "CrossLoRA", "MoLoRA"

    def __init__(self, encoder: None, decoder: FrozenDecoder, config: LoRAConfig):
        identity = decoder.identity()  # recorded before the experts join the model
        super().__init__(encoder, decoder, config)
        self._decoder_identity = identity
        self.router = self.make_router()
        # A plain list: the layers (and their experts) are registered once, inside the decoder.
        self.expert_layers = inject_experts(decoder, self.make_layer, list(config.target_modules), self.title)
        decoder.recompute_state.append(self.router.replay)
        self.train(self.training)  # the experts' dropout follows the bridge's mode from the start

    def make_router(self) -> ExpertRouter:
        raise NotImplementedError

    def make_layer(self, base_layer: nn.Linear) -> ExpertLoRALinear:
        raise NotImplementedError

    def trainable_named_parameters(self) -> list[tuple[str, nn.Parameter]]:
        own = {id(p) for layer in self.expert_layers for p in layer.own_parameters()}
        return [(n, p) for n, p in self.named_parameters() if id(p) in own]

    def backbone_identities(self) -> dict[str, dict]:
        return {"decoder": self._decoder_identity}

    def train(self, mode: bool = True):
        super().train(mode)  # the decoder's own modules stay in eval
        for layer in self.expert_layers:
            layer.dropout.train(mode)
        return self

    # ---- the matched-parameter LoRA baseline ------------------------------------------------------
    def lora_count_per_rank(self) -> int:
        """What one rank of plain LoRA on the same targets costs: in + out per adapted Linear."""
        return sum(layer.in_features + layer.out_features for layer in self.expert_layers)

    def matched_lora_options(self) -> dict:
        """The LoRA baseline of CrossLoRA's section 4.3 ("scales the lora rank and lora alpha ...
        yielding comparable parameter counts"): the same targets, the rank whose count comes
        nearest this bridge's trainable count, alpha scaled with it (alpha / r, LoRA's scale, kept)."""
        r = max(1, round(self.parameter_counts()["trainable"] / self.lora_count_per_rank()))
        cfg = self.config
        return {"r": r, "alpha": cfg.alpha * r / cfg.r, "target_modules": list(cfg.target_modules)}

    # ---- routing ----------------------------------------------------------------------------------
    def check_pairs(self, pairs: Sequence[TranslationPair]) -> None:
        """Pairs the router cannot route are refused before the first step, all named at once."""
        self.router.check_pairs(pairs)

    def collate(self, pairs: Sequence[TranslationPair]) -> dict[str, torch.Tensor]:
        return {**super().collate(pairs), **self.router.batch_fields(pairs)}

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        with self.router.for_batch(batch):
            return super().loss(batch)

    def answer_logits(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        with self.router.for_batch(batch):
            return super().answer_logits(batch)

    @torch.no_grad()
    def generate_token_ids(self, texts: list[str], src_lang: str | Sequence[str], tgt_lang: str | Sequence[str], *,
                           num_beams: int = 1, **generation) -> list[list[int]]:
        """PromptedBridge.generate_token_ids with the rows routed; src_lang / tgt_lang: one for all
        rows or one per row (a batch of mixed directions)."""
        with self.router.for_generation(per_row(src_lang, texts), per_row(tgt_lang, texts), num_beams):
            return super().generate_token_ids(texts, src_lang, tgt_lang, num_beams=num_beams, **generation)

    @torch.no_grad()
    def translate_multi(self, texts: Sequence[str], src_lang: str, tgt_langs: Sequence[str], **options):
        """Every direction checked before the first is translated."""
        for lang in tgt_langs:
            self.router.check_direction(src_lang, lang)
        return super().translate_multi(texts, src_lang, tgt_langs, **options)
