"""LoRA fine-tuning of the LLM on the translation pairs: the papers' "LLM + LoRA" row.

Same prompt, loss (target tokens only) and generation as the prompted baseline, which this
bridge extends; peft injects LoRA layers into the decoder's projections, and those LoRA
weights are the bridge's whole trainable part and checkpoint (bridge.safetensors, through
the same save_bridge/load_bridge as every bridge; not peft's own format).

The bridge owns its decoder: peft replaces the target Linear layers in place, so the decoder
object given here must not serve another bridge (a second LoRA bridge on it is refused; a
prompted bridge on it would silently run through the LoRA weights). Load one per bridge.
"""

from __future__ import annotations

from torch import nn

from ...backbones import FrozenDecoder
from ..prompted import PromptedBridge
from .config import LoRAConfig
from .inject import inject_lora, is_lora_parameter, set_lora_dropout


class LoRABridge(PromptedBridge):
    method = "lora"
    config_class = LoRAConfig
    trains = True

    def __init__(self, encoder: None, decoder: FrozenDecoder, config: LoRAConfig):
        identity = decoder.identity()  # recorded before peft adds its weights to the model
        super().__init__(encoder, decoder, config)
        self._decoder_identity = identity
        inject_lora(decoder, r=config.r, alpha=config.alpha, dropout=config.dropout,
                    target_modules=list(config.target_modules))
        self.train(self.training)  # peft's new dropout modules follow the bridge's mode from the start

    def trainable_named_parameters(self) -> list[tuple[str, nn.Parameter]]:
        return [(n, p) for n, p in self.named_parameters() if is_lora_parameter(n)]

    def backbone_identities(self) -> dict[str, dict]:
        return {"decoder": self._decoder_identity}

    def train(self, mode: bool = True):
        super().train(mode)  # the decoder's own modules stay in eval
        set_lora_dropout(self.decoder, mode)
        return self
