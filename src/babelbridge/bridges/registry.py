"""Method name -> bridge class. New methods register here (one line each)."""

from __future__ import annotations

from ..errors import BabelBridgeError
from .base import Bridge
from .hca import HCABridge
from .llink import LLINKBridge
from .lora import LoRABridge
from .prompted import PromptedBridge

METHODS: dict[str, type[Bridge]] = {cls.method: cls for cls in (HCABridge, LLINKBridge, PromptedBridge, LoRABridge)}


def bridge_class(method: str) -> type[Bridge]:
    if method not in METHODS:
        raise BabelBridgeError(f"unknown bridge method {method!r}; accepted: {', '.join(sorted(METHODS))}")
    return METHODS[method]


def build_bridge(method: str, encoder, decoder, config: dict | None = None) -> Bridge:
    cls = bridge_class(method)
    if cls.uses_encoder and encoder is None:
        raise BabelBridgeError(f"method {method} needs an encoder (a multilingual encoder spec, e.g. "
                               f"facebook/nllb-200-distilled-600M)")
    if not cls.uses_encoder and encoder is not None:
        raise BabelBridgeError(f"method {method} uses no encoder (the LLM reads the source in its prompt); "
                               f"pass encoder=None")
    cfg = config if isinstance(config, cls.config_class) else cls.config_class.from_dict(config or {})
    return cls(encoder, decoder, cfg)
