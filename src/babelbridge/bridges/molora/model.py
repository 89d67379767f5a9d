"""MoLoRA, the CrossLoRA paper's mixture-of-LoRA baselines (section 3.1, eq. 2-3; section 4.3):

    source text -> the prompted bridge's prompt -> frozen LLM whose chosen projections carry n
    LoRA experts E_i = (A_i, B_i):
        y = W0 x + scaling * sum_i s_i B_i A_i x                                  eq. 3
    router topk:    s = softmax(W^MoL x) per token (eq. 2), W^MoL learned per layer, kept for
                    the top k experts ("MoLoRA (Top-k)": top-1, as many experts as CrossLoRA)
    router static:  s one-hot on the row's direction, one expert per direction ("MoLoRA
                    (Static)": 30 experts for the paper's six languages)
    loss: cross-entropy on the target tokens only (+ R-Drop, train.rdrop_alpha); with router
    topk in training, + load_balance_weight x Switch's load-balancing loss (routers.py)

Why a package of its own, not router modes of crosslora: CrossLoRA's options (languages,
experts groupings, shared_source/_target) mean nothing to a learned router, and MoLoRA's
(num_experts, top_k, the balance weight) nothing to CrossLoRA's. What the three methods share,
the expert layer, its injection and the per-call routing of a prompted bridge, lives in
bridges/lora_experts; MoLoRA static is its per-row layer keyed by direction instead of by
language, MoLoRA top-k a layer with its own router. The paper's third baseline, LoRA with a
matched parameter count, is method lora: ExpertLoRABridge.matched_lora_options gives its rank
(and `babelbridge inspect` prints it for a crosslora or molora config).
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from ..base import TranslationPair
from ..lora_experts import ExpertLoRABridge
from .config import MoLoRAConfig
from .layer import DirectionLoRALinear, TopKLoRALinear
from .routers import DirectionRouter, TopKRouter


class MoLoRABridge(ExpertLoRABridge):
    method = "molora"
    config_class = MoLoRAConfig
    title = "MoLoRA"

    def make_router(self) -> DirectionRouter | TopKRouter:
        cfg = self.config
        if cfg.router == "static":
            return DirectionRouter(cfg.expert_directions())
        return TopKRouter(cfg.num_experts, cfg.top_k)

    def make_layer(self, base_layer: nn.Linear) -> DirectionLoRALinear | TopKLoRALinear:
        cfg = self.config
        layer = DirectionLoRALinear if cfg.router == "static" else TopKLoRALinear
        return layer(base_layer, self.router, r=cfg.r, alpha=cfg.alpha, dropout=cfg.dropout)

    def mismatched_source(self, pair: TranslationPair, donor: TranslationPair) -> TranslationPair:
        """Router static has an expert per direction only, and (donor's language -> pair's target)
        may have none (German -> German, when the donor of a German -> English pair is English ->
        German): the row keeps its direction, so its expert, and takes the donor's text alone."""
        if self.config.router == "static":
            return replace(pair, src=donor.src)
        return super().mismatched_source(pair, donor)

    def forward(self, batch: dict[str, torch.Tensor], rdrop_alpha: float = 0.0) -> torch.Tensor:
        """The trainer's loss; with router topk in training, plus the weighted load-balancing loss
        of the same forward. Validation (eval mode) scores the translation loss alone, comparable
        with every other method's."""
        weight = self.config.load_balance_weight if self.config.router == "topk" and self.training else 0
        if not weight:
            return super().forward(batch, rdrop_alpha)
        with self.router.recording():
            loss = super().forward(batch, rdrop_alpha)
            return loss + weight * self.router.balance_loss()
