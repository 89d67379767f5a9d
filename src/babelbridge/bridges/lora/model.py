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

from peft import LoraConfig, inject_adapter_in_model
from peft.tuners.lora import LoraLayer, LoraModel
from peft.tuners.tuners_utils import cast_adapter_dtype
from torch import nn

from ...backbones import FrozenDecoder
from ...errors import BabelBridgeError
from ..prompted import PromptedBridge
from .config import LoRAConfig


class LoRABridge(PromptedBridge):
    method = "lora"
    config_class = LoRAConfig
    trains = True

    def __init__(self, encoder: None, decoder: FrozenDecoder, config: LoRAConfig):
        if any(isinstance(m, LoraLayer) for m in decoder.modules()):
            raise BabelBridgeError("this decoder already carries LoRA layers (another LoRA bridge was built on "
                                   "it); a LoRA bridge owns its decoder: load a fresh one for each bridge")
        identity = decoder.identity()  # recorded before peft adds its weights to the model
        super().__init__(encoder, decoder, config)
        self._decoder_identity = identity
        # Checked here, before peft edits the model: peft skips a misspelt name if another matches.
        names = [n for n, _ in decoder.model.named_modules()]
        missing = [t for t in config.target_modules if not any(n == t or n.endswith("." + t) for n in names)]
        if missing:
            raise BabelBridgeError(f"LoRA target_modules {missing} match no module of {decoder.spec}; "
                                   f"its Linear modules are: {', '.join(_linear_names(decoder.model))}")
        lora = LoraConfig(r=config.r, lora_alpha=config.alpha, lora_dropout=config.dropout,
                          target_modules=list(config.target_modules), bias="none")
        try:
            inject_adapter_in_model(lora, decoder.model)
        except ValueError as err:  # e.g. a target that is not a layer type LoRA supports
            raise BabelBridgeError(f"LoRA target_modules {config.target_modules} do not fit {decoder.spec} "
                                   f"({' '.join(str(err).split())}); its Linear modules are: "
                                   f"{', '.join(_linear_names(decoder.model))}") from None
        cast_adapter_dtype(decoder.model, "default")  # fp32 LoRA weights on a bf16/fp16 LLM, like every adapter here
        self.train(self.training)  # peft's new dropout modules follow the bridge's mode from the start

    def trainable_named_parameters(self) -> list[tuple[str, nn.Parameter]]:
        # Exactly the LoRA matrices (peft names them lora_A / lora_B); never a base weight.
        return [(n, p) for n, p in self.named_parameters() if f".{LoraModel.prefix}" in n]

    def backbone_identities(self) -> dict[str, dict]:
        return {"decoder": self._decoder_identity}

    def train(self, mode: bool = True):
        super().train(mode)  # the decoder's own modules stay in eval
        for module in self.decoder.modules():
            if isinstance(module, LoraLayer):
                module.lora_dropout.train(mode)  # LoRA's dropout is the bridge's, not the backbone's
        return self


def _linear_names(model: nn.Module) -> list[str]:
    return sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear)})
