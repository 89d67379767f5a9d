"""XBridge: a frozen NMT model's encoder and decoder on both sides of a frozen LLM."""

from .config import XBridgeConfig
from .model import XBridgeBridge

__all__ = ["XBridgeBridge", "XBridgeConfig"]
