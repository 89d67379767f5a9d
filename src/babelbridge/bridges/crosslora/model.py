"""CrossLoRA, "Cross-Connected Mixture-of-Expert LoRA for Multilingual Neural Machine Translation"
(shared/papers/crosslora-cross-connected-moe-lora.txt).

    source text -> the prompted bridge's prompt (LMT's, PMP too) -> frozen LLM whose chosen
    projections carry one LoRA expert per language:
        y = W0 x + scaling * B_tgt A_src x                                        eq. 4
    A_src: the row's source language's A, B_tgt: its target language's B (static router, eq. 5)
    loss: cross-entropy on the target tokens only (+ R-Drop, eq. 7-9: train.rdrop_alpha)

Like the LoRA baseline, the bridge extends PromptedBridge (prompt, loss, generation, PMP) and
owns its decoder: the target nn.Linear modules are replaced in place by CrossLoRALinear
(layer.py), whose A/B experts are the whole trainable part and checkpoint.

The router's choice is set for one call, from the batch's language labels: collate stores each
row's expert indices in the batch (loss, answer_logits, R-Drop's doubled batch route by them),
and generate_token_ids routes from its src/tgt languages, one per row or one for all, the
rows repeated num_beams times for beam search. With gradient checkpointing the decoder re-enters
the routing of the first pass while backward recomputes a layer (FrozenDecoder.recompute_state).
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import torch
from peft.tuners.lora import LoraLayer
from torch import nn

from ...backbones import FrozenDecoder
from ...errors import BabelBridgeError
from ...languages import UnknownLanguageError, normalize_language
from ..base import TranslationPair
from ..lora.inject import linear_names
from ..prompted import PromptedBridge
from ..prompted.model import per_row
from .config import CrossLoRAConfig
from .layer import CrossLoRALinear, Routing, StaticRouter


class CrossLoRABridge(PromptedBridge):
    method = "crosslora"
    config_class = CrossLoRAConfig
    trains = True

    def __init__(self, encoder: None, decoder: FrozenDecoder, config: CrossLoRAConfig):
        identity = decoder.identity()  # recorded before the experts join the model
        super().__init__(encoder, decoder, config)
        self._decoder_identity = identity
        self.router = StaticRouter(config.languages, config.expert_groups(), config.shared_source,
                                   config.shared_target)
        # A plain list: the layers (and their experts) are registered once, inside the decoder.
        self.cross_layers = inject_crosslora(decoder, self.router, r=config.r, alpha=config.alpha,
                                             dropout=config.dropout, target_modules=list(config.target_modules))
        decoder.recompute_state.append(lambda: self.router.routed(self.router.current))
        self.train(self.training)  # the experts' dropout follows the bridge's mode from the start

    def trainable_named_parameters(self) -> list[tuple[str, nn.Parameter]]:
        return [(n, p) for n, p in self.named_parameters() if n.endswith((".crosslora_A", ".crosslora_B"))]

    def backbone_identities(self) -> dict[str, dict]:
        return {"decoder": self._decoder_identity}

    def train(self, mode: bool = True):
        super().train(mode)  # the decoder's own modules stay in eval
        for layer in self.cross_layers:
            layer.dropout.train(mode)
        return self

    # ---- routing ----------------------------------------------------------------------------------
    def check_pairs(self, pairs: Sequence[TranslationPair]) -> None:
        """Every pair's languages must have experts: refused before the first step, all named at once."""
        outside = Counter()
        for pair in pairs:
            for lang in {pair.src_lang, pair.tgt_lang}:
                try:
                    code = normalize_language(lang)
                except UnknownLanguageError:
                    code = lang
                if code not in self.router.expert:
                    outside[code] += 1
        if outside:
            found = ", ".join(f"{lang} ({n} pair{'s' if n > 1 else ''})" for lang, n in sorted(outside.items()))
            raise BabelBridgeError(f"pairs in languages with no CrossLoRA expert: {found}; this bridge's languages "
                                   f"are {', '.join(self.router.languages)} (bridge.languages)")

    def batch_routing(self, batch: dict[str, torch.Tensor]) -> Routing:
        return Routing(batch["expert_a"], batch["expert_b"])

    # ---- training -------------------------------------------------------------------------------
    def collate(self, pairs: Sequence[TranslationPair]) -> dict[str, torch.Tensor]:
        """The prompted bridge's rows, and each row's experts (the static router, eq. 5)."""
        routing = self.router.route([p.src_lang for p in pairs], [p.tgt_lang for p in pairs])
        return {**super().collate(pairs), "expert_a": routing.expert_a, "expert_b": routing.expert_b}

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        with self.router.routed(self.batch_routing(batch)):
            return super().loss(batch)

    def answer_logits(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        with self.router.routed(self.batch_routing(batch)):
            return super().answer_logits(batch)

    # ---- generation -----------------------------------------------------------------------------
    @torch.no_grad()
    def generate_token_ids(self, texts: list[str], src_lang: str | Sequence[str], tgt_lang: str | Sequence[str], *,
                           num_beams: int = 1, **generation) -> list[list[int]]:
        """PromptedBridge.generate_token_ids with each row routed to its direction's experts;
        src_lang / tgt_lang: one for all rows or one per row (a batch of mixed directions)."""
        routing = self.router.route(per_row(src_lang, texts), per_row(tgt_lang, texts))
        with self.router.routed(routing.repeat_rows(num_beams)):  # generate expands row i to its beams
            return super().generate_token_ids(texts, src_lang, tgt_lang, num_beams=num_beams, **generation)

    @torch.no_grad()
    def translate_multi(self, texts: Sequence[str], src_lang: str, tgt_langs: Sequence[str], **options):
        """Every target checked before the first is translated."""
        self.router.check(src_lang, "source")
        for lang in tgt_langs:
            self.router.check(lang, "target")
        return super().translate_multi(texts, src_lang, tgt_langs, **options)


def inject_crosslora(decoder: FrozenDecoder, router: StaticRouter, *, r: int, alpha: float, dropout: float,
                     target_modules: list[str]) -> list[CrossLoRALinear]:
    """Replace each target nn.Linear of the decoder (by last name, e.g. gate_proj, or full path,
    as peft's target_modules) with a CrossLoRALinear around it. Every target is checked before
    the model is touched."""
    if any(isinstance(m, (CrossLoRALinear, LoraLayer)) for m in decoder.modules()):
        raise BabelBridgeError("this decoder already carries LoRA layers (another LoRA or CrossLoRA bridge was built "
                               "on it); a CrossLoRA bridge owns its decoder: load a fresh one for each bridge")
    modules = dict(decoder.model.named_modules())
    chosen = [n for n in modules if any(n == t or n.endswith("." + t) for t in target_modules)]
    missing = [t for t in target_modules if not any(n == t or n.endswith("." + t) for n in chosen)]
    if missing:
        raise BabelBridgeError(f"CrossLoRA target_modules {missing} match no module of {decoder.spec}; its Linear "
                               f"modules are: {', '.join(linear_names(decoder.model))}")
    not_linear = [n for n in chosen if not isinstance(modules[n], nn.Linear)]
    if not_linear:
        raise BabelBridgeError(f"CrossLoRA target_modules must name Linear layers; {not_linear[0]} is a "
                               f"{type(modules[not_linear[0]]).__name__}; the Linear modules of {decoder.spec} are: "
                               f"{', '.join(linear_names(decoder.model))}")
    layers = []
    for name in chosen:
        parent, _, attr = name.rpartition(".")
        layer = CrossLoRALinear(modules[name], router, r=r, alpha=alpha, dropout=dropout)
        setattr(decoder.model.get_submodule(parent), attr, layer)
        layers.append(layer)
    return layers
