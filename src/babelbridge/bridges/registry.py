"""Method name -> bridge class. New methods register here (one line each)."""

from __future__ import annotations

from ..errors import BabelBridgeError
from .base import Bridge
from .crosslora import CrossLoRABridge
from .hca import HCABridge
from .llink import LLINKBridge
from .lora import LoRABridge
from .nmt import NMTBridge
from .prompted import PromptedBridge
from .xbridge import XBridgeBridge

METHODS: dict[str, type[Bridge]] = {cls.method: cls for cls in (HCABridge, LLINKBridge, PromptedBridge, LoRABridge,
                                                                CrossLoRABridge, XBridgeBridge, NMTBridge)}


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
    if cls.uses_decoder and decoder is None:
        raise BabelBridgeError(f"method {method} needs a decoder-only LLM (a decoder spec, e.g. Qwen/Qwen3-4B)")
    if not cls.uses_decoder and decoder is not None:
        raise BabelBridgeError(f"method {method} uses no LLM (the NMT model translates alone); pass decoder=None")
    cfg = config if isinstance(config, cls.config_class) else cls.config_class.from_dict(config or {})
    return cls(encoder, decoder, cfg)


def load_backbones(method: str, config: dict | None, encoder: str | None, decoder: str | None, *, dtype: str = "float32",
                   device: str = "cpu", encoder_options: dict | None = None, decoder_options: dict | None = None):
    """The frozen backbones a bridge of this method and config runs on: (encoder or None, LLM or None).
    The encoder spec is loaded with its NMT decoder where the bridge needs one (XBridge)."""
    from ..backbones import load_decoder, load_encoder, load_nmt

    loaded_encoder = None
    if encoder is not None:
        load = load_nmt if bridge_class(method).needs_nmt_decoder(config or {}) else load_encoder
        loaded_encoder = load(encoder, dtype=dtype, device=device, **(encoder_options or {}))
    loaded_decoder = None
    if decoder is not None:
        loaded_decoder = load_decoder(decoder, dtype=dtype, device=device, **(decoder_options or {}))
    return loaded_encoder, loaded_decoder
