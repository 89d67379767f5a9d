"""Expert layers into a frozen decoder: each target nn.Linear replaced in place by a layer around it."""

from __future__ import annotations

from typing import Callable

from peft.tuners.lora import LoraLayer
from torch import nn

from ...backbones import FrozenDecoder
from ...errors import BabelBridgeError
from ..lora.inject import linear_names
from .layer import ExpertLoRALinear


def inject_experts(decoder: FrozenDecoder, make_layer: Callable[[nn.Linear], ExpertLoRALinear],
                   target_modules: list[str], title: str) -> list[ExpertLoRALinear]:
    """Replace each target nn.Linear of the decoder (by last name, e.g. gate_proj, or full path,
    as peft's target_modules) with make_layer(that Linear). Every target is checked before the
    model is touched; `title` names the method in the errors."""
    if any(isinstance(m, (ExpertLoRALinear, LoraLayer)) for m in decoder.modules()):
        raise BabelBridgeError(f"this decoder already carries LoRA layers (another LoRA, CrossLoRA or MoLoRA bridge "
                               f"was built on it); a {title} bridge owns its decoder: load a fresh one for each bridge")
    modules = dict(decoder.model.named_modules())
    chosen = [n for n in modules if any(n == t or n.endswith("." + t) for t in target_modules)]
    missing = [t for t in target_modules if not any(n == t or n.endswith("." + t) for n in chosen)]
    if missing:
        raise BabelBridgeError(f"{title} target_modules {missing} match no module of {decoder.spec}; its Linear "
                               f"modules are: {', '.join(linear_names(decoder.model))}")
    not_linear = [n for n in chosen if not isinstance(modules[n], nn.Linear)]
    if not_linear:
        raise BabelBridgeError(f"{title} target_modules must name Linear layers; {not_linear[0]} is a "
                               f"{type(modules[not_linear[0]]).__name__}; the Linear modules of {decoder.spec} are: "
                               f"{', '.join(linear_names(decoder.model))}")
    layers = []
    for name in chosen:
        parent, _, attr = name.rpartition(".")
        layer = make_layer(modules[name])
        setattr(decoder.model.get_submodule(parent), attr, layer)
        layers.append(layer)
    return layers
