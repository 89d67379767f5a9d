"""Frozen backbones: multilingual encoders and decoder-only LLMs (DESIGN.md layer 2)."""

from .decoder import FrozenDecoder, load_decoder
from .encoder import EncoderAnatomy, FrozenEncoder, load_encoder
from .frozen import count_parameters, fingerprint, freeze
from .nmt import FrozenNMT, load_nmt
from .spec import BackboneSpec

__all__ = [
    "BackboneSpec", "EncoderAnatomy", "FrozenDecoder", "FrozenEncoder", "FrozenNMT",
    "count_parameters", "fingerprint", "freeze", "load_decoder", "load_encoder", "load_nmt",
]
