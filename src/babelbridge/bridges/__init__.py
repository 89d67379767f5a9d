"""Bridges: one package per method, one interface for all (DESIGN.md layer 3)."""

from .base import Bridge, TranslationPair
from .checkpoint import init_from_checkpoint, load_bridge, load_trainable_into, read_metadata, save_bridge
from .hca import HCABridge, HCAConfig
from .llink import LLINKBridge, LLINKConfig
from .lora import LoRABridge, LoRAConfig
from .prompted import PromptedBridge, PromptedConfig
from .prompted.save import save_prompted_baseline
from .registry import METHODS, bridge_class, build_bridge

__all__ = [
    "Bridge", "HCABridge", "HCAConfig", "LLINKBridge", "LLINKConfig", "LoRABridge", "LoRAConfig", "METHODS", "PromptedBridge",
    "PromptedConfig", "TranslationPair",
    "bridge_class", "build_bridge", "init_from_checkpoint", "load_bridge", "load_trainable_into", "read_metadata", "save_bridge",
    "save_prompted_baseline",
]
