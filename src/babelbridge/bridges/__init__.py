"""Bridges: one package per method, one interface for all (DESIGN.md layer 3)."""

from .base import Bridge, TranslationPair
from .checkpoint import init_from_checkpoint, load_bridge, load_trainable_into, read_metadata, save_bridge
from .crosslora import CrossLoRABridge, CrossLoRAConfig
from .hca import HCABridge, HCAConfig
from .llink import LLINKBridge, LLINKConfig
from .lora import LoRABridge, LoRAConfig
from .nmt import NMTBridge, NMTConfig
from .nmt.save import save_nmt_baseline
from .prompted import PromptedBridge, PromptedConfig
from .prompted.save import save_prompted_baseline
from .registry import METHODS, bridge_class, build_bridge, load_backbones
from .xbridge import XBridgeBridge, XBridgeConfig

__all__ = [
    "Bridge", "CrossLoRABridge", "CrossLoRAConfig", "HCABridge", "HCAConfig", "LLINKBridge", "LLINKConfig", "LoRABridge", "LoRAConfig", "METHODS", "NMTBridge", "NMTConfig", "PromptedBridge",
    "PromptedConfig", "TranslationPair", "XBridgeBridge", "XBridgeConfig",
    "bridge_class", "build_bridge", "load_backbones", "init_from_checkpoint", "load_bridge", "load_trainable_into", "read_metadata", "save_bridge",
    "save_nmt_baseline", "save_prompted_baseline",
]
