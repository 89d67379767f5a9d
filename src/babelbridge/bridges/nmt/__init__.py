"""The NMT model alone (NLLB-200, M2M100): XBridge's baseline."""

from .config import NMTConfig
from .model import NMTBridge

__all__ = ["NMTBridge", "NMTConfig"]
