"""CrossLoRA, "Cross-Connected Mixture-of-Expert LoRA for Multilingual Neural Machine Translation"
(shared/papers/crosslora-cross-connected-moe-lora.txt).

    source text -> the prompted bridge's prompt (LMT's, PMP too) -> frozen LLM whose chosen
    projections carry one LoRA expert per language:
        y = W0 x + scaling * B_tgt A_src x                                        eq. 4
    A_src: the row's source language's A, B_tgt: its target language's B (static router, eq. 5)
    loss: cross-entropy on the target tokens only (+ R-Drop, eq. 7-9: train.rdrop_alpha)

The bridge is an ExpertLoRABridge (bridges/lora_experts: injection, per-call routing, beams,
gradient checkpointing), with CrossLoRA's router (StaticRouter: the language labels) and layer
(CrossLoRALinear): collate stores each row's A and B expert in the batch, generate_token_ids
routes from its src/tgt languages, one per row or one for all.
"""

from __future__ import annotations

from torch import nn

from ..lora_experts import ExpertLoRABridge
from .config import CrossLoRAConfig
from .layer import CrossLoRALinear, StaticRouter


class CrossLoRABridge(ExpertLoRABridge):
    method = "crosslora"
    config_class = CrossLoRAConfig
    title = "CrossLoRA"

    def make_router(self) -> StaticRouter:
        cfg = self.config
        return StaticRouter(cfg.languages, cfg.expert_groups(), cfg.shared_source, cfg.shared_target)

    def make_layer(self, base_layer: nn.Linear) -> CrossLoRALinear:
        cfg = self.config
        return CrossLoRALinear(base_layer, self.router, r=cfg.r, alpha=cfg.alpha, dropout=cfg.dropout)
