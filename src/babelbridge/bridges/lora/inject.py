"""LoRA inside a frozen decoder, through peft: shared by the LoRA baseline and LLINK's stage B.

peft's inject_adapter_in_model adds the LoRA layers into the decoder's projections in place (no
PeftModel wrapper), so generate, hooks and the layer list stay as they were. The decoder then
belongs to that bridge: a second injection into it is refused.
"""

from __future__ import annotations

import contextlib

from peft import LoraConfig, inject_adapter_in_model
from peft.tuners.lora import LoraLayer, LoraModel
from peft.tuners.tuners_utils import BaseTunerLayer, cast_adapter_dtype
from torch import nn

from ...backbones import FrozenDecoder
from ...errors import BabelBridgeError


def inject_lora(decoder: FrozenDecoder, *, r: int, alpha: float, dropout: float, target_modules: list[str]) -> None:
    if any(isinstance(m, LoraLayer) for m in decoder.modules()):
        raise BabelBridgeError("this decoder already carries LoRA layers (another LoRA bridge was built on "
                               "it); a LoRA bridge owns its decoder: load a fresh one for each bridge")
    # Checked here, before peft edits the model: peft skips a misspelt name if another matches.
    names = [n for n, _ in decoder.model.named_modules()]
    missing = [t for t in target_modules if not any(n == t or n.endswith("." + t) for n in names)]
    if missing:
        raise BabelBridgeError(f"LoRA target_modules {missing} match no module of {decoder.spec}; "
                               f"its Linear modules are: {', '.join(linear_names(decoder.model))}")
    lora = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(target_modules), bias="none")
    try:
        inject_adapter_in_model(lora, decoder.model)
    except ValueError as err:  # e.g. a target that is not a layer type LoRA supports
        raise BabelBridgeError(f"LoRA target_modules {target_modules} do not fit {decoder.spec} "
                               f"({' '.join(str(err).split())}); its Linear modules are: "
                               f"{', '.join(linear_names(decoder.model))}") from None
    cast_adapter_dtype(decoder.model, "default")  # fp32 LoRA weights on a bf16/fp16 LLM, like every adapter here


def is_lora_parameter(name: str) -> bool:
    """peft names the matrices lora_A / lora_B: exactly these train, never a base weight."""
    return f".{LoraModel.prefix}" in name


def set_lora_dropout(decoder: FrozenDecoder, mode: bool) -> None:
    """LoRA's dropout follows the bridge's mode; the decoder's own modules stay in eval."""
    for module in decoder.modules():
        if isinstance(module, LoraLayer):
            module.lora_dropout.train(mode)


@contextlib.contextmanager
def lora_disabled(decoder: FrozenDecoder):
    """The frozen LLM as it was, for the length of the block (LLINK's teacher vectors)."""
    layers = [m for m in decoder.modules() if isinstance(m, BaseTunerLayer)]
    for layer in layers:
        layer.enable_adapters(False)
    try:
        yield
    finally:
        for layer in layers:
            layer.enable_adapters(True)


def linear_names(model: nn.Module) -> list[str]:
    return sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear)})
